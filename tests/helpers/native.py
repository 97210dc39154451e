"""Native JSONL trace records and files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def trace(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "trace_id": f"t-{i}",
        "session_id": f"s-{i // 3}",
        "timestamp": "2026-11-16T09:12:03Z",
        "input": f"Summarize escalation {i} and draft a follow-up",
        "output": "Here is the summary ...",
        "latency_ms": 2300,
        "cost_usd": 0.0021,
        "steps": [
            {"id": "a1", "type": "router", "name": "route", "output": {"route": "direct_answer"}},
            {
                "id": "a2",
                "parent_id": "a1",
                "type": "tool",
                "name": "search_docs",
                "input": {"query": "escalation"},
                "error": "TimeoutError: 30s",
            },
        ],
        "feedback": [{"kind": "thumb", "value": -1, "comment": "wrong", "source": "user"}],
        "scores": {"groundedness": 0.4},
        "metadata": {"app_version": "2.3.1"},
        **extra,
    }


def write_lines(path: Path, lines: list[bytes | str | dict[str, Any]]) -> Path:
    with path.open("wb") as handle:
        for item in lines:
            line = json.dumps(item) if isinstance(item, dict) else item
            handle.write((line.encode() if isinstance(line, str) else line) + b"\n")
    return path
