"""SWE-agent trajectories (``.traj``): one run of the agent on one issue, as one JSON document.

Shape (SWE-agent 0.7 and 1.x)::

    {"environment": "swe_main", "trajectory": [{"action", "observation", "response",
      "thought", "execution_time"?, "state"?}, ...], "history": [chat messages],
     "info": {"exit_status", "submission", "model_stats": {"instance_cost", "tokens_sent",
      "tokens_received", "api_calls"}}, "replay_config"?: JSON text}

Mapping: the trace id is the file stem (SWE-agent names the file after the instance); the
input is the issue (the last user message of the history before the agent's first reply); the
output is the submitted patch, else the agent's last response. The root ``agent`` step carries
the run's tokens and cost (``model_stats``) and the model of ``replay_config``; each trajectory
entry becomes an ``llm`` step (the response) followed by a ``tool`` step (the action, its
observation and execution time). A run that did not end in a submission (``exit_status``
``exit_cost``, ``exit_context``, ``exit_error``, ``early_exit``...) has that status as the root
step's error; an autosubmission after such an exit (``submitted (exit_cost)``) too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flywheel.formats._source import Record, Rejected, TraceSource, build_trace
from flywheel.formats.chat import file_stem, head_text

_KEYS = re.compile(r'"(trajectory|history|info|environment)"\s*:')


class SweAgentFormat:
    name = "swe-agent"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        text = head_text(head)
        if not text.startswith("{"):
            return False
        keys = set(_KEYS.findall(text))
        return (
            '"trajectory"' in text
            and len(keys) >= 2
            and re.search(
                r'"trajectory"\s*:\s*\[\s*(\]|\{\s*"(action|response|thought|observation)")', text
            )
            is not None
        )

    def read(self, source: TraceSource) -> Iterator[Record]:
        for item in source.json_records():
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            if not isinstance(data, dict) or not isinstance(data.get("trajectory"), list):
                yield Rejected(
                    source.name,
                    line,
                    "expected a SWE-agent trajectory: an object with a 'trajectory' list",
                    raw=raw[:4096],
                )
                continue
            yield build_trace(_trace(data, file_stem(source)), file=source.name, line=line, raw=raw)


def _trace(data: dict[str, Any], stem: str) -> dict[str, Any]:
    info = _dict(data.get("info"))
    stats = _dict(info.get("model_stats"))
    history = [m for m in data.get("history") or [] if isinstance(m, dict)]
    status = str(info.get("exit_status") or "")
    failed = bool(status) and (status != "submitted")
    sent, received = _int(stats.get("tokens_sent")), _int(stats.get("tokens_received"))
    usage = {"prompt_tokens": sent or 0, "completion_tokens": received or 0}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    model = _model(data.get("replay_config"))
    root: dict[str, Any] = {
        "id": "run",
        "type": "agent",
        "name": str(data.get("environment") or "swe-agent"),
        "error": f"the run ended with exit status '{status}'" if failed else None,
        "model": model,
        "usage": usage if usage["total_tokens"] else None,
        "cost_usd": _float(stats.get("instance_cost")),
        "metadata": {k: v for k, v in stats.items() if k not in ("tokens_sent", "tokens_received")},
    }
    steps: list[dict[str, Any]] = [root]
    for i, entry in enumerate(data["trajectory"]):
        if not isinstance(entry, dict):
            continue
        response = entry.get("response") or entry.get("thought")
        steps.append(
            {
                "id": f"llm-{i}",
                "parent_id": "run",
                "type": "llm",
                "name": "response",
                "output": response,
                "model": model,
                "metadata": {"thought": entry["thought"]} if entry.get("thought") else {},
            }
        )
        action = str(entry.get("action") or "").strip()
        seconds = _float(entry.get("execution_time"))
        steps.append(
            {
                "id": f"action-{i}",
                "parent_id": "run",
                "type": "tool",
                "name": action.split(maxsplit=1)[0] if action else "action",
                "input": action,
                "output": entry.get("observation"),
                "latency_ms": seconds * 1000 if seconds is not None else None,
                "metadata": {"state": entry["state"]} if entry.get("state") else {},
            }
        )
    output = info.get("submission") or next(
        (s["output"] for s in reversed(steps) if s["type"] == "llm" and s.get("output")), None
    )
    metadata = {k: v for k, v in info.items() if k not in ("submission", "model_stats")}
    if data.get("environment"):
        metadata["environment"] = data["environment"]
    return {
        "trace_id": stem,
        "input": _issue(history) or stem,
        "output": output if isinstance(output, str | dict | list) else None,
        "cost_usd": root["cost_usd"],
        "steps": steps,
        "metadata": metadata,
    }


def _issue(history: list[dict[str, Any]]) -> str | None:
    """The last user message before the agent's first reply (demonstrations come before)."""
    issue = None
    for message in history:
        if message.get("role") == "assistant":
            break
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            issue = message["content"]
    return issue


def _model(replay_config: Any) -> str | None:
    config = replay_config
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            return None
    agent = config.get("agent") if isinstance(config, dict) else None
    model = agent.get("model") if isinstance(agent, dict) else None
    name = model.get("name") if isinstance(model, dict) else None
    return name if isinstance(name, str) and name else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
