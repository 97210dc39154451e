"""The ATIF (Harbor) and AutoGen readers, beyond the corpus summary: what each tool call
returned, errors, tokens and cost per step, bad records quarantined with the field named, and
a forced format refusing the other's file. Every case starts from a real file of
tests/fixtures/real (see its PROVENANCE.md), changed where a case needs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.config import SignalsConfig
from flywheel.formats import TraceSource, detect
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.trace import StepType, Trace

REAL = Path(__file__).parents[1] / "fixtures" / "real"
OPENHANDS = REAL / "harbor-atif" / "harbor_openhands.json"
SUMMARIZATION = REAL / "harbor-atif" / "harbor_terminus2_summarization.json"
HISTORY = REAL / "autogen" / "history-wile_e_coyote_1.json"
SESSION = REAL / "autogen" / "task_centric_memory-teachability-session.json"


def _only(store: Store) -> Trace:
    rows = store.list_traces(limit=10)
    assert len(rows) == 1
    return store.get_trace(rows[0].trace_id, rows[0].source).trace


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_an_atif_tool_call_holds_its_arguments_and_what_it_returned(store: Store) -> None:
    ingest_paths(store, [OPENHANDS])
    trace = _only(store)
    raw = _load(OPENHANDS)["steps"][4]

    tool = next(s for s in trace.steps if s.type is StepType.tool)
    llm = next(s for s in trace.steps if s.id == tool.parent_id)
    assert (tool.name, tool.input) == ("str_replace_editor", raw["tool_calls"][0]["arguments"])
    assert tool.output == raw["observation"]["results"][0]["content"]
    assert llm.usage == {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
    assert llm.cost_usd == 0.00075
    assert trace.cost_usd == 0.00135  # final_metrics.total_cost_usd
    assert trace.input == _load(OPENHANDS)["steps"][1]["message"]
    assert trace.metadata["agent"]["name"] == "openhands"


def test_an_atif_handoff_to_a_subagent_keeps_the_reference(store: Store) -> None:
    ingest_paths(store, [SUMMARIZATION])
    trace = _only(store)

    handoff = next(s for s in trace.steps if s.name == "observation")
    refs = handoff.metadata["subagent_trajectory_ref"]
    assert refs
    assert refs[0][0]["session_id"].startswith("test-session")
    assert handoff.parent_id == "step-5"


def test_a_bad_atif_step_quarantines_that_trajectory_naming_the_field(
    store: Store, tmp_path: Path
) -> None:
    good = _load(OPENHANDS)
    bad = _load(OPENHANDS)
    bad["session_id"] = "broken"
    bad["steps"][2]["source"] = "robot"
    path = tmp_path / "trajectories.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")

    counts = ingest_paths(store, [path])

    assert (counts.read, counts.stored, counts.quarantined) == (2, 1, 1)
    assert counts.errors[0]["line"] == 2
    assert counts.errors[0]["field"] == "steps.2.source"
    assert "expected system, user or agent" in counts.errors[0]["reason"]


def test_an_autogen_function_call_gets_its_result_and_an_error_flags_the_trace(
    store: Store, tmp_path: Path
) -> None:
    data = _load(HISTORY)
    ingest_paths(store, [HISTORY])
    trace = _only(store)
    tool = next(s for s in trace.steps if s.type is StepType.tool)
    assert tool.name == "transfer_to_issues_and_repairs"
    assert tool.output == data["messages"][4]["content"][0]["content"]
    assert [s.name for s in trace.steps if s.type is StepType.llm] == [
        "TriageAgent",
        "TriageAgent",
        "IssuesAndRepairsAgent",
    ]
    assert not trace.errors

    data["messages"][4]["content"][0]["is_error"] = True
    failed = _write(tmp_path, "history-failed.json", data)
    ingest_paths(store, [failed])
    detect_failures(store, SignalsConfig())
    stored = store.get_trace("history-failed", store.list_traces(limit=10)[0].source)
    assert [s.name for s in stored.trace.errors] == ["transfer_to_issues_and_repairs"]
    assert stored.failing


def test_an_autogen_recorded_session_is_one_trace_of_model_calls(store: Store) -> None:
    calls = _load(SESSION)
    ingest_paths(store, [SESSION])
    trace = _only(store)

    assert len(trace.steps) == len(calls) == 16
    first = trace.steps[0]
    usage = calls[0]["response"]["usage"]
    assert first.usage == {
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"],
    }
    assert first.output == calls[0]["response"]["content"]
    assert first.metadata["finish_reason"] == "stop"


def test_a_bad_autogen_message_is_quarantined_naming_the_field(
    store: Store, tmp_path: Path
) -> None:
    data = _load(HISTORY)
    data["messages"][3]["content"] = [{"id": "call_1", "arguments": "{}"}]  # no name
    path = _write(tmp_path, "history-bad.json", data)

    counts = ingest_paths(store, [path])

    assert (counts.stored, counts.quarantined) == (0, 1)
    assert counts.errors[0]["field"] == "messages.3.content.0"


def test_each_reader_is_chosen_for_its_own_file_and_refuses_the_others(store: Store) -> None:
    chosen = {p.name: detect(TraceSource(p)) for p in (OPENHANDS, HISTORY, SESSION)}
    assert {name: d.format.name for name, d in chosen.items() if d} == {
        OPENHANDS.name: "atif",
        HISTORY.name: "autogen",
        SESSION.name: "autogen",
    }

    counts = ingest_paths(store, [HISTORY], format="atif")

    assert (counts.stored, counts.quarantined) == (0, 1)
    assert "does not look like atif: it looks like autogen" in counts.errors[0]["reason"]


def test_ingest_help_names_every_format_a_user_can_force() -> None:
    result = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "400"})

    assert result.exit_code == 0
    for name in ("atif", "autogen", "phoenix", "openai-agents", "tau2", "native"):
        assert name in result.output
