"""tau2-bench results (``tau2 run``'s Results document): one trace per simulation run, the
reward as a score, tool errors and abnormal terminations as errors. The records follow the
fields of ``tau2.data_model.simulation.SimulationRun`` and ``tau2.data_model.message``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flywheel.config import SignalsConfig
from flywheel.formats import TraceSource, detect
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store


def _simulation(task_id: str, reward: float, ending: str, tool_error: bool) -> dict[str, Any]:
    return {
        "id": f"sim-{task_id}",
        "task_id": task_id,
        "trial": 0,
        "timestamp": "2025-06-01T10:00:00",
        "start_time": "2025-06-01T10:00:00",
        "end_time": "2025-06-01T10:00:42",
        "duration": 42.0,
        "termination_reason": ending,
        "agent_cost": 0.012,
        "user_cost": 0.003,
        "reward_info": {
            "reward": reward,
            "db_check": {"db_match": reward == 1.0, "db_reward": reward},
        },
        "messages": [
            {"role": "assistant", "content": "Hi! How can I help you today?", "turn_idx": 0},
            {"role": "user", "content": "My phone has no data.", "turn_idx": 1},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "name": "get_line_details",
                        "arguments": {"line": "L1"},
                        "requestor": "assistant",
                    }
                ],
                "turn_idx": 2,
            },
            {
                "id": "call_1",
                "role": "tool",
                "content": "Line L1 not found" if tool_error else '{"status": "active"}',
                "requestor": "assistant",
                "error": tool_error,
                "turn_idx": 3,
            },
            {"role": "assistant", "content": "Your line is active; try restarting.", "turn_idx": 4},
        ],
    }


def test_tau2_results_are_read_one_trace_per_run(store: Store, tmp_path: Path) -> None:
    results = {
        "timestamp": "2025-06-01T10:05:00",
        "info": {"environment_info": {"domain_name": "telecom"}, "num_trials": 1},
        "tasks": [{"id": "t1"}, {"id": "t2"}],
        "simulations": [
            _simulation("t1", 1.0, "user_stop", tool_error=False),
            _simulation("t2", 0.0, "max_steps", tool_error=True),
        ],
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")

    found = detect(TraceSource(path))
    counts = ingest_paths(store, [path])
    detect_failures(store, SignalsConfig())

    assert found is not None
    assert found.format.name == "tau2"
    assert (counts.stored, counts.quarantined) == (2, 0)
    good = store.get_trace("telecom-taskt1-trial0")
    bad = store.get_trace("telecom-taskt2-trial0")
    assert [(s.name, s.value) for s in good.trace.scores] == [("reward", 1.0)]
    assert good.trace.input_text == "My phone has no data."
    assert good.trace.output_text == "Your line is active; try restarting."
    assert good.trace.cost_usd == 0.012
    assert good.trace.latency_ms == 42_000
    tool = next(s for s in good.trace.steps if s.type.value == "tool")
    assert (tool.name, tool.input, tool.error) == ("get_line_details", {"line": "L1"}, None)
    assert good.failing is False

    errors = [s.error for s in bad.trace.errors]
    assert "the run ended with termination reason 'max_steps'" in errors
    assert "Error: Line L1 not found" in errors
    assert bad.failing is True
