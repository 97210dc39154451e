"""The tau-bench result format: runs of a tool-calling agent with a reward."""

from __future__ import annotations

import json
from pathlib import Path

from flywheel.formats import Parsed, Rejected, TraceSource, detect_format
from flywheel.formats.taubench import TauBenchFormat
from flywheel.ingest import ingest_paths
from flywheel.store import Store
from flywheel.trace import Score, StepType, Trace

DATA = Path(__file__).parent / "data"


def read(path: Path) -> list[Parsed | Rejected]:
    return list(TauBenchFormat().read(TraceSource(path)))


def traces(path: Path) -> dict[str, Trace]:
    return {r.trace.trace_id: r.trace for r in read(path) if isinstance(r, Parsed)}


def test_a_run_becomes_a_trace_with_its_reward_task_and_tool_calls() -> None:
    trace = traces(DATA / "tau_runs.json")["airline-task7-trial0"]

    assert trace.input == "Hi, I want to check my reservation."
    assert trace.output == "You have one reservation, ABC123."  # not the user's ###STOP###
    assert trace.user_id == "mia_li_3668"
    assert trace.scores == [Score(name="reward", value=1.0, source="tau-bench")]
    assert [(s.id, s.type, s.name) for s in trace.steps] == [
        ("1", StepType.other, "system"),
        ("2", StepType.other, "user"),
        ("3", StepType.llm, "assistant"),
        ("3.1", StepType.tool, "get_user_details"),
        ("5", StepType.llm, "assistant"),
        ("6", StepType.other, "user"),
    ]
    tool = trace.steps[3]
    assert tool.input == {"user_id": "mia_li_3668"}
    assert tool.output == '{"name": "Mia Li"}'
    assert tool.error is None
    meta = trace.metadata
    assert (meta["domain"], meta["task_id"], meta["trial"], meta["reward"]) == (
        "airline",
        7,
        0,
        1.0,
    )
    assert meta["task"]["instruction"] == "You are mia_li_3668."
    assert meta["reward_info"]["info"] == {"r_actions": 1.0}
    assert meta["info"] == {"source": "user", "user_cost": 0.0035}


def test_a_failed_run_carries_reward_zero_and_its_tool_error() -> None:
    trace = traces(DATA / "tau_runs.json")["airline-task7-trial1"]

    assert trace.scores == [Score(name="reward", value=0.0, source="tau-bench")]
    (failed,) = trace.errors
    assert (failed.id, failed.name, failed.error) == (
        "3.1",
        "cancel_reservation",
        "Error: reservation not found",
    )


def test_domain_comes_from_info_env_or_the_policy_heading() -> None:
    found = traces(DATA / "tau_runs.json")

    assert sorted(found) == [
        "airline-task7-trial0",
        "airline-task7-trial1",
        "retail-task3-trial1",
        "telecom-task8-trial2",
    ]
    retail = found["retail-task3-trial1"]
    assert "reward_info" not in retail.metadata  # null in the run: nothing invented
    assert retail.metadata["records"] == {"note": "kept"}


def test_bad_runs_are_rejected_with_line_and_field_and_the_good_ones_survive() -> None:
    records = read(DATA / "tau_runs.json")

    assert [(r.line, r.field) for r in records if isinstance(r, Rejected)] == [
        (42, "traj"),  # no conversation at all
        (43, "traj.1.role"),  # a message without a role
        (44, "reward"),  # a reward that is not a number
    ]
    assert [r.line for r in records if isinstance(r, Parsed)] == [2, 16, 30, 45]


def test_a_truncated_file_keeps_the_runs_before_the_cut() -> None:
    first, second = read(DATA / "tau_truncated.json")

    assert isinstance(first, Parsed)
    assert first.trace.trace_id == "retail-task1-trial0"
    assert isinstance(second, Rejected)
    assert second.line == 3
    assert second.reason.startswith("invalid JSON")


def test_not_a_list_of_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    path.write_text('[{"task_id": 1, "traj": [{"role": "user", "content": "x"}]}, 5, "run"]')

    records = read(path)

    assert isinstance(records[0], Parsed)
    assert [(r.line, r.reason) for r in records[1:] if isinstance(r, Rejected)] == [
        (1, "expected a tau-bench run (an object with task_id and traj); got int"),
        (1, "expected a tau-bench run (an object with task_id and traj); got str"),
    ]
    assert records[0].trace.trace_id == "tau-task1"  # no heading, no trial: still an id


def test_the_same_run_in_two_files_is_the_same_trace_and_stored_once(tmp_path: Path) -> None:
    from_list = traces(DATA / "tau_runs.json")["retail-task3-trial1"]
    single = traces(DATA / "tau_single.json")["retail-task3-trial1"]
    assert single.content_hash() == from_list.content_hash()

    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        first = ingest_paths(store, [DATA / "tau_runs.json"])
        second = ingest_paths(store, [DATA / "tau_single.json"])
    finally:
        store.close()

    assert (first.read, first.stored, first.quarantined) == (7, 4, 3)
    assert (second.stored, second.updated, second.duplicates) == (0, 0, 1)


def test_jsonl_of_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    runs = json.loads((DATA / "tau_runs.json").read_text())[:3]
    path.write_text("".join(json.dumps(run) + "\n" for run in runs))

    assert detect_format(TraceSource(path)) is not None
    assert [(r.trace.trace_id, r.line) for r in read(path) if isinstance(r, Parsed)] == [
        ("airline-task7-trial0", 1),
        ("airline-task7-trial1", 2),
        ("retail-task3-trial1", 3),
    ]


def test_detection_claims_tau_files_only() -> None:
    tau = TauBenchFormat()
    for name in ("tau_runs.json", "tau_single.json", "tau_truncated.json"):
        fmt = detect_format(TraceSource(DATA / name))
        assert fmt is not None
        assert fmt.name == "taubench", name
    for name in ("chat_openai.jsonl", "chat_magentic.json", "chat_native_lookalike.jsonl"):
        source = TraceSource(DATA / name)
        assert not tau.sniff(source, source.head()), name


def test_a_run_longer_than_the_sniffed_head_is_still_detected(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    run = json.loads((DATA / "tau_single.json").read_text())
    run["traj"][0]["content"] += "x" * 100_000
    path.write_text(json.dumps([run], indent=2))

    fmt = detect_format(TraceSource(path))

    assert fmt is not None
    assert fmt.name == "taubench"
