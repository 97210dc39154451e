"""Every real trace file of the shared datasets ingests without loss (tau-bench, AgentRx).

Expected counts, from the files themselves (see the READMEs under shared/datasets):

- tau-bench airline: 200 runs (50 tasks x 4 trials), 116 with reward 0.
- AgentRx tau retail: ``tau_dataset_full.json`` holds 100 runs (27 with reward 0);
  ``tau_dataset_failed.json`` holds 29 failed runs, 27 of them identical to runs of the full file
  (duplicates) and 2 (tasks 104 and 105) found nowhere else; the 7 ``trajectories/tau-retail``
  examples are identical to dataset runs (duplicates).
- AgentRx Magentic-One: 58 trajectories (``steps_by_id.json`` is a step-count index, not a
  trace); ``magentic_dataset_whowhen`` repeats 16 of them (duplicates); the 10
  ``trajectories/magentic-one/trajectories`` examples are copies of dataset trajectories filed
  under their category name, which is their file stem and so their trace id: 10 new traces.
- ``tool_schemas/tools_structure.json``: a partial transcript (tool calls and results only),
  accepted as one conversation.
- Not traces: the 3 ground-truth label files, ``steps_by_id.json``, ``trajectories_info.json``
  quarantined as unrecognised (folders are searched for JSON / JSONL / gzip files only, so the
  READMEs are not read).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flywheel.ingest import ingest_paths
from flywheel.store import IngestCounts, Store
from flywheel.trace import Score, StepType

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
AGENTRX = DATASETS / "agentrx"
AIRLINE = DATASETS / "tau_bench" / "historical_trajectories" / "gpt-4o-airline.json"
RETAIL_FULL = AGENTRX / "data" / "tau_retail" / "tau_dataset_full.json"
RETAIL_FAILED = AGENTRX / "data" / "tau_retail" / "tau_dataset_failed.json"
TAU_EXAMPLES = AGENTRX / "trajectories" / "tau-retail"
MAGENTIC = AGENTRX / "data" / "magentic_dataset"
WHOWHEN = AGENTRX / "data" / "magentic_dataset_whowhen"
MAGENTIC_EXAMPLES = AGENTRX / "trajectories" / "magentic-one" / "trajectories"
TOOLS_STRUCTURE = AGENTRX / "data" / "tool_schemas" / "tools_structure.json"
REWARD_ZERO = [Score(name="reward", value=0.0, source="tau-bench")]

pytestmark = pytest.mark.skipif(
    not DATASETS.is_dir(), reason=f"the shared datasets are not at {DATASETS}"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    yield opened
    opened.close()


def counts(result: IngestCounts) -> tuple[int, int, int, int]:
    assert result.read == result.stored + result.updated + result.duplicates + result.quarantined
    return result.stored, result.updated, result.duplicates, result.quarantined


def magentic_files() -> list[Path]:
    return sorted(p for p in MAGENTIC.glob("*.json") if p.name != "steps_by_id.json")


def test_tau_bench_runs(store: Store) -> None:
    assert counts(ingest_paths(store, [AIRLINE])) == (200, 0, 0, 0)
    assert counts(ingest_paths(store, [RETAIL_FULL])) == (100, 0, 0, 0)
    assert counts(ingest_paths(store, [RETAIL_FAILED])) == (2, 0, 27, 0)
    assert counts(ingest_paths(store, [TAU_EXAMPLES])) == (0, 0, 7, 0)
    assert store.count_traces() == 302

    failing = [t.trace for t in store.iter_traces() if t.trace.scores == REWARD_ZERO]
    assert len(failing) == 116 + 27 + 2
    for run in json.loads(RETAIL_FAILED.read_text()):
        trace = store.get_trace(f"retail-task{run['task_id']}-trial{run['trial']}").trace
        assert trace.scores == REWARD_ZERO
        assert trace.metadata["task"] == run["info"]["task"]
        assert trace.metadata.get("reward_info") == run["info"]["reward_info"]  # may be null
        tools = [s for s in trace.steps if s.type is StepType.tool]
        results = sum(1 for m in run["traj"] if m["role"] == "tool")
        assert sum(1 for t in tools if t.output is not None) == results  # every result paired

    airline = store.get_trace("airline-task0-trial0").trace
    assert airline.metadata["domain"] == "airline"
    assert airline.input_text.startswith("Hi")  # the simulated user's first message


def test_magentic_one_trajectories(store: Store) -> None:
    assert counts(ingest_paths(store, magentic_files())) == (58, 0, 0, 0)
    assert counts(ingest_paths(store, [WHOWHEN])) == (0, 0, 16, 0)
    assert counts(ingest_paths(store, [MAGENTIC_EXAMPLES])) == (10, 0, 0, 0)

    for path in magentic_files():
        steps = json.loads(path.read_text())
        trace = store.get_trace(path.stem, source="chat").trace
        assert trace.input == steps[0]["content"]  # the human's request
        assert len(trace.steps) == len(steps)  # step n is AgentRx's 1-based step_number n
        assert "Orchestrator" in trace.metadata["agents"]


def test_the_partial_tool_transcript_is_one_conversation(store: Store) -> None:
    assert counts(ingest_paths(store, [TOOLS_STRUCTURE])) == (1, 0, 0, 0)

    trace = store.get_trace("tools_structure").trace
    tools = [s for s in trace.steps if s.type is StepType.tool]
    assert len(tools) == 13
    assert all(t.output is not None and t.metadata.get("tool_call_id") for t in tools)


def test_the_whole_folder_quarantines_exactly_the_files_that_are_not_traces(
    store: Store,
) -> None:
    first = ingest_paths(store, [DATASETS])
    second = ingest_paths(store, [DATASETS])

    # 200 + 100 + 2 tau runs, 58 + 10 Magentic-One trajectories, 1 partial transcript.
    assert counts(first) == (371, 0, 27 + 7 + 16, 5)
    assert counts(second) == (0, 0, 371 + 50, 5)
    quarantined = {Path(q.file).resolve(): q for q in store.quarantined(limit=1000)}
    expected = {
        AGENTRX / "data" / "ground_truth" / "magentic_one_ground_truth.json",
        AGENTRX / "data" / "ground_truth" / "tau_ground_truth.json",
        AGENTRX / "data" / "ground_truth" / "tau_retail.json",
        MAGENTIC / "steps_by_id.json",
        AGENTRX / "trajectories" / "magentic-one" / "trajectories_info.json",
    }
    assert set(quarantined) == {path.resolve() for path in expected}
    for record in quarantined.values():
        assert record.line is None
        assert "could not recognise the trace format" in record.reason


def test_forcing_the_chat_format_on_the_step_index_says_why(store: Store) -> None:
    result = ingest_paths(store, [MAGENTIC / "steps_by_id.json"], format="chat")

    assert counts(result) == (0, 0, 0, 1)
    (error,) = result.errors
    assert error["line"] == 1
    assert "expected a conversation" in error["reason"]
    assert "is this a trace file?" in error["reason"]
