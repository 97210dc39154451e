"""tau2-bench results: the ``Results`` document ``tau2 run`` saves, or its simulations alone.

Shape (``tau2.data_model.simulation``)::

    {"timestamp", "info": {"environment_info": {"domain_name"}, ...}, "tasks": [...],
     "simulations": [{"id", "task_id", "trial", "start_time", "end_time", "duration",
       "termination_reason", "agent_cost", "user_cost", "reward_info": {"reward", ...},
       "messages": [{"role": "assistant" | "user" | "tool" | "system", "content",
         "tool_calls": [{"id", "name", "arguments": {...}, "requestor"}], "error"?,
         "turn_idx", "timestamp", "cost", "usage"}], "review"?, ...}]}

A file holding one simulation run (an object, or JSONL of them) is read too. Trace id:
``{domain}-task{task_id}-trial{trial}`` as for tau-bench (the domain from the results' info,
else ``tau2``). The messages become steps as chat transcripts do (tau2's tool calls,
``{"name", "arguments"}``, read as OpenAI ones; a tool message with ``"error": true`` is its
step's error); the reward is a ``reward`` score (0 = the task failed); the agent's cost and the
run's duration are the trace's. A run that ended other than by the user or the agent stopping
(``max_steps``, ``too_many_errors``, ``agent_error``...) carries that as an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flywheel.formats._source import Record, Rejected, TraceSource, build_trace
from flywheel.formats.chat import (
    conversation_input,
    conversation_output,
    conversation_steps,
    head_text,
    is_json_lines,
    parse_messages,
)

_NORMAL_ENDS = {"user_stop", "agent_stop"}
_RESULTS = re.compile(r'"simulations"\s*:\s*\[')
_RUN = re.compile(r'"termination_reason"\s*:')


class Tau2Format:
    name = "tau2"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        text = head_text(head)
        if not text.startswith(("{", "[")):
            return False
        if _RESULTS.search(text) and ('"tasks"' in text or '"info"' in text):
            return True
        return (
            _RUN.search(text) is not None
            and '"task_id"' in text
            and '"messages"' in text
            and '"traj"' not in text
        )

    def read(self, source: TraceSource) -> Iterator[Record]:
        items = source.json_lines() if is_json_lines(source) else source.json_records()
        for item in items:
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            if isinstance(data, dict) and isinstance(data.get("simulations"), list):
                domain = _domain(data.get("info"))
                for run in data["simulations"]:
                    yield _run(source, run, domain, line, raw)
            else:
                yield _run(source, data, "tau2", line, raw)


def _domain(info: Any) -> str:
    env = info.get("environment_info") if isinstance(info, dict) else None
    name = env.get("domain_name") if isinstance(env, dict) else None
    return str(name) if isinstance(name, str) and name else "tau2"


def _run(source: TraceSource, run: Any, domain: str, line: int, raw: bytes) -> Record:
    if not isinstance(run, dict) or "task_id" not in run:
        return Rejected(
            source.name,
            line,
            "expected a tau2 simulation run (an object with task_id and messages)",
            raw=raw[:4096],
        )
    messages = parse_messages(
        [(line, _message(m)) for m in run.get("messages") or []],
        file=source.name,
        raw=raw[:65536],
        prefix="messages.",
    )
    if isinstance(messages, Rejected):
        return messages
    steps = [s.model_dump() for s in conversation_steps(messages, tool_error_prefix="Error: ")]
    ending = run.get("termination_reason")
    if isinstance(ending, str) and ending not in _NORMAL_ENDS:
        steps.insert(
            0,
            {
                "id": "termination",
                "type": "other",
                "name": "termination",
                "error": f"the run ended with termination reason '{ending}'",
            },
        )
    found = run.get("reward_info")
    reward_info: dict[str, Any] = found if isinstance(found, dict) else {}
    reward = reward_info.get("reward")
    trial = run.get("trial")
    trial_part = f"-trial{trial}" if trial is not None else ""
    cost = run.get("agent_cost")
    duration = run.get("duration")
    metadata = {
        "benchmark": "tau2-bench",
        "domain": domain,
        "simulation_id": run.get("id"),
        "task_id": run.get("task_id"),
        "trial": trial,
        "termination_reason": ending,
        "user_cost": run.get("user_cost"),
        "reward_info": reward_info or None,
        "review": run.get("review"),
    }
    trace = {
        "trace_id": f"{domain}-task{run['task_id']}{trial_part}",
        "input": conversation_input(messages) if messages else str(run["task_id"]),
        "output": conversation_output(messages) if messages else None,
        "timestamp": run.get("start_time") or None,
        "latency_ms": duration * 1000
        if isinstance(duration, int | float) and _number(duration)
        else None,
        "cost_usd": cost if _number(cost) else None,
        "steps": steps,
        "scores": []
        if not _number(reward)
        else [{"name": "reward", "value": reward, "source": "tau2-bench"}],
        "metadata": {k: v for k, v in metadata.items() if v is not None},
    }
    return build_trace(trace, file=source.name, line=line, raw=raw[:65536])


def _message(message: Any) -> Any:
    """tau2's message as an OpenAI chat message (tool calls, tool errors)."""
    if not isinstance(message, dict):
        return message
    out = {k: v for k, v in message.items() if k not in ("tool_calls", "error", "raw_data")}
    calls = [
        {
            "id": call.get("id") or None,
            "type": "function",
            "function": {"name": call["name"], "arguments": call.get("arguments")},
        }
        for call in message.get("tool_calls") or []
        if isinstance(call, dict) and isinstance(call.get("name"), str) and call["name"]
    ]
    if calls:
        out["tool_calls"] = calls
    if message.get("role") == "tool":
        out["tool_call_id"] = message.get("id")
        content = message.get("content")
        if message.get("error") and not str(content or "").startswith("Error: "):
            out["content"] = f"Error: {content}"
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
