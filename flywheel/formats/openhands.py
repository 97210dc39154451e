"""OpenHands trajectories: the JSON list of events a conversation leaves (``save_trajectory``,
the UI's "export trajectory"): one trace per file.

An event is ``{"id", "timestamp", "source": "user" | "agent" | "environment", "message",
"action": "message" | "run" | "read" | "edit" | "browse" | "finish" | ..., "args"}`` or, for
what came back, ``{"observation": "run" | "read" | "edit" | "error" | ..., "cause": <the
action's id>, "content", "extras"}``; an agent action made by a model call carries
``tool_call_metadata.model_response`` (the completion, with ``model`` and ``usage``).

Mapping: the trace id is the file stem; the input is the first user message, the answer the
agent's last message (or its ``finish`` thought). A user message is a step of its own; each
model response is an ``llm`` step (model, tokens), and every tool action it made (``run``,
``read``, ``edit``...) a ``tool`` step under it, named after the function called, whose output
is the observation that names the action as its cause. An ``error`` observation, or a command
that exited non-zero, is that step's error. Environment bookkeeping (agent state changes, "no
observation") is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flywheel.formats._source import Record, Rejected, TraceSource, build_trace
from flywheel.formats.chat import file_stem, head_text

_FIRST_EVENT = re.compile(r'^\[\s*\{\s*"id"\s*:\s*\d+\s*,\s*"timestamp"\s*:')
_QUIET = {"agent_state_changed", "null", "change_agent_state", "recall", "system"}
_TALK = {"message", "finish"}


class OpenHandsFormat:
    name = "openhands"

    def sniff(self, source: TraceSource, head: bytes) -> float:
        text = head_text(head)
        if _FIRST_EVENT.match(text) is None or '"source"' not in text:
            return 0.0
        return 0.9 if '"action"' in text or '"observation"' in text else 0.0

    def read(self, source: TraceSource) -> Iterator[Record]:
        events: list[dict[str, Any]] = []
        first_line = 1
        for item in source.json_records():
            if isinstance(item, Rejected):
                yield item
                return
            line, event, _ = item
            if not events:
                first_line = line
            if isinstance(event, dict):
                events.append(event)
        if not events:
            yield Rejected(source.name, first_line, "the trajectory holds no events")
            return
        raw = source.head(65536)
        yield build_trace(_trace(events, file_stem(source)), file=source.name, line=1, raw=raw)


def _trace(events: list[dict[str, Any]], stem: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    by_action: dict[str, dict[str, Any]] = {}
    llm_steps: dict[str, dict[str, Any]] = {}
    user_input: Any = None
    answer: Any = None
    for event in sorted(events, key=_order):
        source = event.get("source")
        action = event.get("action")
        observation = event.get("observation")
        event_id = str(event.get("id"))
        args = _dict(event.get("args"))
        if source == "environment" or action in _QUIET or observation in _QUIET:
            continue
        if action == "message" and source == "user":
            content = args.get("content") or event.get("message")
            user_input = content if user_input is None else user_input
            steps.append({"id": event_id, "type": "other", "name": "user", "input": content})
            continue
        if action is not None:
            parent = _llm_step(event, steps, llm_steps)
            if action in _TALK:
                content = args.get("final_thought") or args.get("content") or event.get("message")
                answer = content or answer
                if parent is None:
                    parent = {"id": event_id, "type": "llm", "name": "agent"}
                    steps.append(parent)
                parent["output"] = content
                continue
            thought = args.get("thought")
            if parent is not None and thought and not parent.get("output"):
                parent["output"] = thought
            metadata = _dict(event.get("tool_call_metadata"))
            tool = {
                "id": event_id,
                "parent_id": parent["id"] if parent else None,
                "type": "tool",
                "name": str(metadata.get("function_name") or action),
                "input": {k: v for k, v in args.items() if v not in (None, "", [], {})},
                "metadata": {"action": action},
            }
            steps.append(tool)
            by_action[event_id] = tool
            continue
        if observation is not None:
            target = by_action.get(str(event.get("cause")))
            content = event.get("content") if event.get("content") not in (None, "") else None
            content = content or event.get("message")
            error = _error(observation, event)
            if target is None:
                steps.append(
                    {
                        "id": event_id,
                        "type": "tool",
                        "name": str(observation),
                        "output": content,
                        "error": error,
                    }
                )
                continue
            target["output"] = content
            if error:
                target["error"] = error
    return {
        "trace_id": stem,
        "input": user_input if isinstance(user_input, str) and user_input else stem,
        "output": answer if isinstance(answer, str) else None,
        "steps": steps,
        "metadata": {"producer": "openhands"},
    }


def _llm_step(
    event: dict[str, Any], steps: list[dict[str, Any]], llm_steps: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The llm step of the model response that made this action (one per response)."""
    metadata = event.get("tool_call_metadata")
    response = metadata.get("model_response") if isinstance(metadata, dict) else None
    if not isinstance(response, dict):
        return None
    key = str(response.get("id") or event.get("id"))
    step = llm_steps.get(key)
    if step is not None:
        return step
    usage = _dict(response.get("usage"))
    tokens = {
        k: int(v)
        for k, v in usage.items()
        if k in ("prompt_tokens", "completion_tokens", "total_tokens")
        and isinstance(v, int)
        and not isinstance(v, bool)
    }
    step = {
        "id": f"llm-{event.get('id')}",
        "type": "llm",
        "name": "agent",
        "model": response.get("model") if isinstance(response.get("model"), str) else None,
        "usage": tokens or None,
        "metadata": {"response_id": response.get("id")},
    }
    steps.append(step)
    llm_steps[key] = step
    return step


def _error(observation: Any, event: dict[str, Any]) -> str | None:
    if observation == "error":
        return str(event.get("content") or event.get("message") or "error")
    meta = _dict(_dict(event.get("extras")).get("metadata"))
    code = meta.get("exit_code")
    if observation == "run" and isinstance(code, int) and code not in (0, -1):
        return f"command exited with code {code}: {str(event.get('content') or '')[:300]}"
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _order(event: dict[str, Any]) -> int:
    ident = event.get("id")
    return ident if isinstance(ident, int) and not isinstance(ident, bool) else 0
