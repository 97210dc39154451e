"""The failing step: where a failing trace first went wrong, and which agent took it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.formats.chat import conversation_steps, parse_messages
from flywheel.project import Project
from flywheel.trace import FailureSignal, SignalKind, Step, Trace
from tests.helpers.triage import add_cluster, healthy, ingest, kind_traces
from triage._step import StepRule, failing_step, sample_evenly, step_pattern
from triage._step_bench import position, run_step_benchmark, same_agent

runner = CliRunner()


def native(steps: list[dict[str, Any]], trace_id: str = "t-1") -> Trace:
    return Trace.model_validate({"trace_id": trace_id, "input": "help", "steps": steps})


def chat(history: list[dict[str, Any]], trace_id: str = "m-1") -> Trace:
    """A multi-agent step list as Magentic-One and Who&When store it (``history``)."""
    messages = parse_messages(list(enumerate(history, 1)), file="x", raw=b"", prefix="")
    assert isinstance(messages, list)
    return Trace(trace_id=trace_id, input="q", steps=conversation_steps(messages))


# -- native steps -------------------------------------------------------------------------------


def test_earliest_unrecovered_error_wins_over_later_ones_and_over_a_recovered_one() -> None:
    trace = native(
        [
            {"id": "a", "type": "agent", "name": "planner"},
            {"id": "b", "parent_id": "a", "type": "tool", "name": "lookup", "error": "404"},
            {"id": "c", "parent_id": "a", "type": "tool", "name": "lookup", "output": "ok"},
            {"id": "d", "parent_id": "a", "type": "tool", "name": "book", "error": "ValueError: x"},
            {"id": "e", "type": "tool", "name": "pay", "error": "declined"},
        ]
    )
    found = failing_step(trace)

    assert found.step_id == "d"  # "b" failed too, but the run got past it ("c")
    assert found.agent == "planner"  # a tool call belongs to the agent that made it
    assert found.kind == "error"
    assert "book failed" in found.evidence
    assert found.confidence >= 0.5


def test_a_stored_step_error_signal_points_at_its_step() -> None:
    trace = native([{"id": "s1", "type": "llm", "name": "answer"}, {"id": "s2", "type": "tool"}])
    signal = FailureSignal(kind=SignalKind.timeout, strength=1, evidence="timed out", step_id="s2")

    found = failing_step(trace, [signal])

    assert (found.step_id, found.evidence) == ("s2", "timed out")


def test_without_evidence_the_first_consequential_action_then_the_last_step() -> None:
    steps: list[dict[str, Any]] = [
        {"id": "1", "type": "llm", "name": "assistant"},
        {"id": "2", "type": "tool", "name": "get_order", "output": {}},
        {"id": "3", "type": "tool", "name": "cancel_pending_order", "output": {}},
        {"id": "4", "type": "tool", "name": "modifyAddress", "output": {}},
        {"id": "5", "type": "llm", "name": "assistant", "output": "done"},
    ]
    assert failing_step(native(steps)).step_id == "3"
    assert failing_step(native(steps)).kind == "consequential"

    plain = failing_step(native(steps), rule=StepRule(consequential=False))
    assert (plain.step_id, plain.kind) == ("5", "last_step")
    assert plain.confidence < 0.3


def test_only_hard_kinds_of_the_rule_count() -> None:
    trace = native(
        [
            {"id": "1", "type": "tool", "name": "search", "error": "boom"},
            {"id": "2", "type": "llm", "name": "answer", "output": "done"},
        ]
    )
    found = failing_step(trace, rule=StepRule(hard=frozenset(), consequential=False))

    assert found.step_id == "2"


# -- multi-agent chat history (Magentic-One / Who&When) -----------------------------------------


HISTORY = [
    {"role": "human", "content": "Find the 2020 figure."},
    {"role": "Orchestrator (thought)", "content": "Plan: ask WebSurfer."},
    {"role": "Orchestrator (-> WebSurfer)", "content": "Search for the figure."},
    {"role": "WebSurfer", "content": "I typed 'figure 2020' into the search box."},
    {"role": "Orchestrator (-> WebSurfer)", "content": "Open the first result."},
    {"role": "WebSurfer", "content": "Verify you are human by completing the action below."},
    {"role": "Orchestrator (thought)", "content": "Stalled. Replanning."},
]


def test_a_bot_check_in_a_chat_history_names_the_step_and_the_agent() -> None:
    found = failing_step(chat(HISTORY))

    assert (found.step_id, found.agent, found.kind) == ("6", "WebSurfer", "guardrail")
    assert position(found.step_id) == 6


def test_an_earlier_bot_check_is_found_when_the_run_ends_in_a_content_filter_error() -> None:
    crash = "openai.BadRequestError: Error code: 400 - ResponsibleAIPolicyViolation"
    history = [*HISTORY, {"role": "WebSurfer", "content": crash}]
    trace = chat(history).model_copy(update={"output": crash})

    found = failing_step(trace)

    assert (found.step_id, found.kind) == ("6", "guardrail")


def test_a_history_without_evidence_falls_back_to_its_last_turn() -> None:
    found = failing_step(chat(HISTORY[:5]))

    assert (found.step_id, found.agent, found.kind) == ("5", "Orchestrator", "last_step")


def test_a_cluster_shows_the_step_and_agent_its_traces_share() -> None:
    found = [failing_step(chat(HISTORY, f"m-{i}")) for i in range(3)]
    found.append(failing_step(chat(HISTORY[:5], "m-9")))

    pattern = step_pattern(found)

    assert pattern["summary"] == (
        "first went wrong at the `WebSurfer` agent step, agent WebSurfer, in 3 of 4 traces"
    )
    assert pattern["patterns"][0] == {
        "step": "`WebSurfer` agent step",
        "agent": "WebSurfer",
        "traces": 3,
    }
    assert pattern["kinds"] == {"guardrail": 3, "last_step": 1}
    sampled = step_pattern(found[:2], total=40)
    assert sampled["summary"].endswith("in 2 of 2 sampled traces")
    assert sampled["cluster_traces"] == 40
    assert len(sample_evenly(list(range(1000)), 10)) == 10


# -- bad input ----------------------------------------------------------------------------------


def test_a_trace_with_no_steps_gets_no_step_and_a_reason() -> None:
    found = failing_step(native([]))

    assert found.step_id is None
    assert found.confidence == 0.0
    assert "no steps" in found.reason
    assert step_pattern([found])["summary"] == "no failing step could be named"
    assert step_pattern([])["traces"] == 0


def test_untyped_unnamed_steps_and_unnamed_agents_give_a_low_confidence_answer() -> None:
    trace = Trace(trace_id="x", input="q", steps=[Step(id="1"), Step(id="2", type="agent")])

    found = failing_step(trace)

    assert found.step_id == "2"
    assert found.agent is None
    assert "no agent is named" in found.reason
    assert found.confidence <= 0.3
    untyped = failing_step(Trace(trace_id="y", input="q", steps=[Step(id="1")]))
    assert untyped.confidence <= 0.3
    assert "no type or name" in untyped.reason


def test_agent_names_compare_blind_to_case_and_punctuation() -> None:
    assert same_agent("Websurfer", "WebSurfer")
    assert not same_agent(None, "")
    assert position("12.1") == 12
    assert position("abc") is None


# -- `flywheel triage --json` and `flywheel bench triage --agentrx` -----------------------------


def test_triage_json_shows_the_failing_step_pattern_per_cluster(
    project: Project, tmp_path: Path
) -> None:
    store = project.open_store()
    try:
        ingest(store, tmp_path, healthy(20) + kind_traces("tool_args", 5))
        add_cluster(store, "C-0001", [r["trace_id"] for r in kind_traces("tool_args", 5)])
    finally:
        store.close()

    result = runner.invoke(app, ["triage", "--json"])

    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)["clusters"]
    pattern = record["failing_step"]
    assert (
        pattern["summary"] == "first went wrong at the `ticket_search` tool step, in 5 of 5 traces"
    )
    assert pattern["kinds"] == {"error": 5}
    table = runner.invoke(app, ["triage"]).stdout
    assert "C-0001: first went wrong at the `ticket_search` tool step" in table


def _agentrx(root: Path) -> Path:
    """A tiny AgentRx-shaped folder: two Magentic-One runs and one tau-bench retail run."""
    data = root / "data"
    (data / "ground_truth").mkdir(parents=True)
    (data / "magentic_dataset").mkdir()
    (data / "tau_retail").mkdir()
    (data / "magentic_dataset" / "run-a.json").write_text(json.dumps(HISTORY))
    (data / "magentic_dataset" / "run-b.json").write_text(json.dumps(HISTORY[:5]))

    def failure(step: int, agent: str) -> dict[str, Any]:
        return {
            "trajectory_id": "",
            "failures": [
                {
                    "failure_id": 1,
                    "step_number": step,
                    "failed_agent": agent,
                    "failure_category": "x",
                }
            ],
            "root_cause": {"failure_id": "1"},
        }

    magentic = [failure(6, "Websurfer") | {"trajectory_id": "run-a"}]
    magentic.append(failure(3, "Orchestrator") | {"trajectory_id": "run-b"})
    (data / "ground_truth" / "magentic_one_ground_truth.json").write_text(json.dumps(magentic))
    traj = [
        {"role": "system", "content": "# Retail agent policy"},
        {"role": "user", "content": "Cancel my order."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "cancel_pending_order", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "cancel_pending_order", "content": "{}"},
        {"role": "assistant", "content": "Done."},
    ]
    run = {"task_id": 7, "trial": 0, "reward": 0.0, "info": {}, "traj": traj}
    (data / "tau_retail" / "tau_dataset_failed.json").write_text(json.dumps([run]))
    tau = [failure(3, "Assistant") | {"trajectory_id": 7}]
    (data / "ground_truth" / "tau_ground_truth.json").write_text(json.dumps(tau))
    return root


def test_step_bench_scores_exact_near_and_agent_against_a_random_baseline(tmp_path: Path) -> None:
    report = run_step_benchmark(_agentrx(tmp_path / "agentrx"), workdir=tmp_path)

    overall = report["overall"]
    # run-a: the bot check at 6 (exact); run-b: last turn 5 for a label at 3 (miss, agent
    # right); tau: the cancel call in message 3 (exact).
    assert overall["traces"] == 3
    assert overall["exact"] == pytest.approx(2 / 3, abs=1e-3)
    assert overall["within_1"] == pytest.approx(2 / 3, abs=1e-3)
    assert overall["agent"] == 1.0
    assert overall["random"]["exact"] == pytest.approx((1 / 7 + 1 / 5 + 1 / 5) / 3, abs=1e-3)
    assert report["domains"]["tau-retail"]["exact"] == 1.0
    kinds = overall["by_kind"]
    assert (kinds["guardrail"]["exact"], kinds["last_step"]["exact"]) == (1.0, 0.0)
    assert kinds["consequential"]["traces"] == 1
    held = report["leave_one_domain_out"]
    assert set(held) == {"magentic-one", "tau-retail"}
    assert held["tau-retail"]["tuned_on"] == "magentic-one"
    assert report["published"]["who&when GPT-4o all-at-once"]["step"] == 0.142


def test_bench_triage_agentrx_cli_prints_json(project: Project, tmp_path: Path) -> None:
    dataset = _agentrx(tmp_path / "agentrx")

    result = runner.invoke(app, ["bench", "triage", "--agentrx", str(dataset), "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overall"]["traces"] == 3
    missing = runner.invoke(app, ["bench", "triage"])
    assert missing.exit_code != 0
    assert "--agentrx" in missing.output
