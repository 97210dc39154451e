"""tau-bench result files: runs of a tool-calling agent against a simulated user.

A result file is a JSON list of runs (or one run as a JSON object, or JSONL of runs)::

    {"task_id": 0, "trial": 0, "reward": 0.0,
     "info": {"task": {...}, "reward_info": {...}, "env"?: "airline", ...},
     "traj": [OpenAI chat messages, with tool_calls and tool messages], "records"?: {...}}

Trace id: ``{domain}-task{task_id}-trial{trial}``, the domain taken from ``info.env`` or the
system prompt's heading ("# Airline Agent Policy" -> airline), so ids are unique across
domains. Everything in the trace comes from the run itself, never from the file name, so the
same run read from two files is the same trace (the store counts the second as a duplicate).

The reward becomes a ``reward`` score (1.0 = success, 0.0 = failure); the task and the grader's
``reward_info`` go to the metadata. A tool result starting with "Error" (tau-bench's way of
reporting a failed tool call) is also recorded as that tool step's error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flywheel.formats._source import (
    Record,
    Rejected,
    TraceSource,
    build_trace,
    validation_rejection,
)
from flywheel.formats.chat import (
    ChatMessage,
    conversation_input,
    conversation_output,
    conversation_steps,
    first_value,
    head_text,
    is_json_lines,
    looks_native,
    parse_messages,
)

#: "# Airline Agent Policy", "# Retail agent policy"
_POLICY_HEADING = re.compile(r"^\s*#\s*(?P<domain>.+?)\s+agent\s+policy\b", re.IGNORECASE)
_UNKNOWN_DOMAIN = "tau"


class TauRun(BaseModel):
    """One run; unknown top-level keys (``records``...) are kept in the trace's metadata."""

    model_config = ConfigDict(extra="allow")

    task_id: int | str
    trial: int | None = None
    reward: float | None = None
    info: dict[str, Any] | None = None
    traj: list[Any] = Field(min_length=1)


class TauBenchFormat:
    name = "taubench"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        text = head_text(head)
        if not text.startswith(("[", "{")) or looks_native(text):
            return False
        value = first_value(text)
        if value is not None:
            return isinstance(value, dict) and "task_id" in value and "traj" in value
        # The first run is longer than the head: look for its keys.
        return (
            re.search(r'"task_id"\s*:', text) is not None
            and re.search(r'"traj"\s*:\s*\[', text) is not None
        )

    def read(self, source: TraceSource) -> Iterator[Record]:
        items = source.json_lines() if is_json_lines(source) else source.json_records()
        for item in items:
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            yield self._run(source, data, line, raw)

    def _run(self, source: TraceSource, data: Any, line: int, raw: bytes) -> Record:
        if not isinstance(data, dict):
            return Rejected(
                source.name,
                line,
                f"expected a tau-bench run (an object with task_id and traj); "
                f"got {type(data).__name__}",
                raw=raw,
            )
        try:
            run = TauRun.model_validate(data)
        except ValidationError as exc:
            return validation_rejection(exc, file=source.name, line=line, raw=raw)
        messages = parse_messages(
            [(line, message) for message in run.traj], file=source.name, raw=raw, prefix="traj."
        )
        if isinstance(messages, Rejected):
            return messages
        info = dict(run.info or {})
        domain = _domain(info, messages)
        trial = f"-trial{run.trial}" if run.trial is not None else ""
        task = info.pop("task", None)
        reward_info = info.pop("reward_info", None)
        metadata: dict[str, Any] = {
            "benchmark": "tau-bench",
            "domain": domain,
            "task_id": run.task_id,
            "trial": run.trial,
            "reward": run.reward,
            "task": task,
            "reward_info": reward_info,
            "info": info,
            **(run.model_extra or {}),
        }
        user_id = task.get("user_id") if isinstance(task, dict) else None
        trace = {
            "trace_id": f"{domain}-task{run.task_id}{trial}",
            "input": conversation_input(messages),
            "output": conversation_output(messages),
            "user_id": user_id if isinstance(user_id, str) else None,
            "steps": conversation_steps(messages, tool_error_prefix="Error"),
            "scores": (
                []
                if run.reward is None
                else [{"name": "reward", "value": run.reward, "source": "tau-bench"}]
            ),
            "metadata": {k: v for k, v in metadata.items() if v is not None},
        }
        return build_trace(trace, file=source.name, line=line, raw=raw)


def _domain(info: dict[str, Any], messages: list[ChatMessage]) -> str:
    """``info.env`` if the run names it, else the heading of the system prompt's policy."""
    env = info.get("env")
    if isinstance(env, str) and env.strip():
        return _slug(env)
    for message in messages:
        if message.role == "system" and isinstance(message.content, str):
            match = _POLICY_HEADING.match(message.content)
            if match:
                return _slug(match["domain"])
    return _UNKNOWN_DOMAIN


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-") or _UNKNOWN_DOMAIN
