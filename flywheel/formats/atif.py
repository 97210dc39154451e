"""ATIF, the Agent Trajectory Interchange Format: the ``trajectory.json`` Harbor writes for
every trial of an agent it runs (Terminus-2, OpenHands, Claude Code... on Terminal-Bench and
other Harbor datasets), one trajectory per file (or a JSON list / JSONL of them).

A trajectory is::

    {"schema_version": "ATIF-v1.x", "session_id", "agent": {"name", "version", "model_name"?,
     "tool_definitions"?, "extra"?}, "steps": [...], "final_metrics"?: {"total_prompt_tokens",
     "total_completion_tokens", "total_cached_tokens", "total_cost_usd"}, "notes"?, "extra"?}

and a step ``{"step_id", "timestamp", "source": "system" | "user" | "agent", "message",
"model_name"?, "reasoning_content"?, "tool_calls"?: [{"tool_call_id", "function_name",
"arguments"}], "observation"?: {"results": [{"source_call_id"?, "content",
"subagent_trajectory_ref"?}]}, "metrics"?: {"prompt_tokens", "completion_tokens",
"cached_tokens", "cost_usd"}, "is_copied_context"?, "extra"?}``.

Mapping: the trace id is the ``session_id`` (else the file stem); the input is the first user
message, the answer the last agent message. A user or system step is an ``other`` step; an
agent step is an ``llm`` step named after the agent, with its model (the step's, else the
agent's), tokens and cost; each tool call it made is a ``tool`` step under it, named after
the function, whose output is the observation result that names its call id (a result
without one goes to the first call still without an output). Observation results left over
(an agent turn without tool calls that the environment answered, a handoff to a subagent)
are an ``other`` step named ``observation`` under the step. ATIF itself holds no outcome
(Harbor's verifier writes the reward elsewhere), so nothing here flags a trajectory failing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flywheel.formats._fields import BadField, timestamp_field
from flywheel.formats._source import Record, Rejected, TraceSource, build_trace
from flywheel.formats.chat import file_stem, head_text

_SCHEMA = re.compile(r'"schema_version"\s*:\s*"ATIF-v', re.IGNORECASE)
_TOKENS = ("prompt_tokens", "completion_tokens", "cached_tokens")


class AtifFormat:
    name = "atif"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        text = head_text(head)
        return text.startswith(("{", "[")) and _SCHEMA.search(text) is not None

    def read(self, source: TraceSource) -> Iterator[Record]:
        stem = file_stem(source)
        records = list(source.json_auto())
        many = len(records) > 1
        for item in records:
            if isinstance(item, Rejected):
                yield item
                continue
            line, record, raw = item
            if not isinstance(record, dict):
                yield Rejected(
                    source.name, line, f"expected a trajectory object, got {type(record).__name__}"
                )
                continue
            try:
                data = _trace(record, f"{stem}-{line}" if many else stem)
            except BadField as exc:
                yield Rejected(source.name, line, exc.reason, field=exc.field, raw=raw[:4096])
                continue
            yield build_trace(data, file=source.name, line=line, raw=raw)


def _trace(record: dict[str, Any], fallback_id: str) -> dict[str, Any]:
    steps_in = record.get("steps")
    if not isinstance(steps_in, list) or not steps_in:
        raise BadField("steps", "missing: a trajectory needs a list of steps")
    agent = _dict(record.get("agent"))
    agent_name = _text(agent.get("name")) or "agent"
    agent_model = _text(agent.get("model_name"))
    steps: list[dict[str, Any]] = []
    user_input: Any = None
    answer: Any = None
    first_time = None
    for index, step in enumerate(steps_in):
        where = f"steps.{index}"
        if not isinstance(step, dict):
            raise BadField(where, f"expected a step object, got {type(step).__name__}")
        source = step.get("source")
        if source not in ("system", "user", "agent"):
            raise BadField(f"{where}.source", f"expected system, user or agent, got {source!r}")
        step_id = f"step-{step.get('step_id', index + 1)}"
        start = timestamp_field(step.get("timestamp"), f"{where}.timestamp")
        first_time = first_time or start
        message = _message(step.get("message"))
        metadata = {
            k: step[k] for k in ("reasoning_content", "is_copied_context", "extra") if k in step
        }
        if source != "agent":
            if source == "user" and user_input is None and message:
                user_input = message
            own = {"type": "other", "name": source, "input": message}
        else:
            answer = message or answer
            metrics = _dict(step.get("metrics"))
            own = {
                "type": "llm",
                "name": agent_name,
                "output": message,
                "model": _text(step.get("model_name")) or agent_model,
                "usage": _usage(metrics),
                "cost_usd": _cost(metrics.get("cost_usd")),
            }
        steps.append({"id": step_id, "start_time": start, "metadata": metadata, **own})
        steps.extend(_tool_steps(step, step_id, where))
    final = _dict(record.get("final_metrics"))
    return {
        "trace_id": _text(record.get("session_id")) or fallback_id,
        "input": user_input or _text(record.get("session_id")) or fallback_id,
        "output": answer,
        "timestamp": first_time,
        "cost_usd": _cost(final.get("total_cost_usd")),
        "steps": steps,
        "metadata": {
            "producer": "atif",
            "schema_version": record.get("schema_version"),
            "agent": {k: v for k, v in agent.items() if k != "tool_definitions"},
            **({"final_metrics": final} if final else {}),
            **({"notes": record["notes"]} if record.get("notes") else {}),
        },
    }


def _tool_steps(step: dict[str, Any], parent: str, where: str) -> list[dict[str, Any]]:
    """A tool step per tool call, with its observation; left-over results as one step."""
    tools: list[dict[str, Any]] = []
    by_call: dict[str, dict[str, Any]] = {}
    calls = step.get("tool_calls")
    for number, call in enumerate(calls if isinstance(calls, list) else []):
        if not isinstance(call, dict):
            raise BadField(f"{where}.tool_calls.{number}", "expected a tool call object")
        call_id = _text(call.get("tool_call_id")) or f"{parent}-call-{number}"
        tool = {
            "id": f"{parent}-{call_id}",
            "parent_id": parent,
            "type": "tool",
            "name": _text(call.get("function_name")) or "tool",
            "input": call.get("arguments"),
            "metadata": {"tool_call_id": call_id},
        }
        tools.append(tool)
        by_call[call_id] = tool
    results = _dict(step.get("observation")).get("results")
    left: list[Any] = []
    for item in results if isinstance(results, list) else []:
        result = _dict(item)
        target = by_call.get(_text(result.get("source_call_id")) or "")
        if target is None:
            target = next((t for t in tools if "output" not in t), None)
        if target is None or "subagent_trajectory_ref" in result:
            left.append(result)
            continue
        target["output"] = result.get("content")
    if left:
        contents = [r.get("content") for r in left if r.get("content") is not None]
        refs = [r["subagent_trajectory_ref"] for r in left if "subagent_trajectory_ref" in r]
        tools.append(
            {
                "id": f"{parent}-observation",
                "parent_id": parent,
                "type": "other",
                "name": "observation",
                "output": contents[0] if len(contents) == 1 else (contents or None),
                "metadata": {"subagent_trajectory_ref": refs} if refs else {},
            }
        )
    return tools


def _usage(metrics: dict[str, Any]) -> dict[str, int] | None:
    usage = {k: v for k in _TOKENS if (v := _count(metrics.get(k))) is not None}
    if not usage:
        return None
    total = usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
    return {**usage, "total_tokens": total}


def _count(value: Any) -> int | None:
    """A token count, or None when the value is not one."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _cost(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _message(value: Any) -> Any:
    """A step's message: text, or the text parts of a multimodal content list."""
    if isinstance(value, list):
        parts: list[str] = [
            part["text"]
            for part in value
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return "\n".join(parts) if parts else value
    return value if value not in ("", None) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
