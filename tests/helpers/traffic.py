"""Crafted failing traffic: a few clear failure patterns over varied requests, one week each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

COMPANIES = [
    "Initech",
    "Globex",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Foods",
    "Pied Piper",
    "Tyrell Energy",
    "Soylent Labs",
    "Cyberdyne Systems",
    "Hooli",
    "Vandelay Imports",
    "Acme Rockets",
    "Oscorp",
    "Wonka Candy",
    "Massive Dynamic",
    "Monarch Travel",
]


def _timeout(i: int, company: str) -> dict[str, Any]:
    return {
        "input": f"What's the current status of the {company} shipment tracker #{1000 + i}?",
        "output": "Sorry, I could not get that information right now. Please try again later.",
        "steps": [
            {"id": "1", "type": "router", "name": "route", "output": {"route": "tool"}},
            {
                "id": "2",
                "type": "tool",
                "name": "status_lookup",
                "input": {"service": company},
                "error": f"TimeoutError: status_lookup timed out after {20 + i % 7}.{i % 10}s",
                "latency_ms": 20000 + 37 * i,
            },
        ],
        "scores": {"helpfulness": 0.1},
    }


def _memory(i: int, company: str) -> dict[str, Any]:
    return {
        "input": f"Summarise our relationship with {company} and list open items for Q{1 + i % 4}.",
        "output": f"As far as I remember, {company} is in good standing and nothing needs action.",
        "steps": [
            {"id": "1", "type": "router", "name": "route", "output": {"route": "direct"}},
            {"id": "2", "type": "llm", "name": "answer", "output": "As far as I remember..."},
        ],
        "feedback": [
            {"kind": "thumb", "value": -1},
            {"kind": "comment", "comment": "You did not check the account records at all."},
        ],
    }


def _clarify(i: int, company: str) -> dict[str, Any]:
    return {
        "input": f"Draft an email to the {company} team confirming the renewal on day {i + 3}.",
        "output": "Could you clarify what exactly you mean, and which account this is about?",
        "steps": [
            {"id": "1", "type": "router", "name": "route", "output": {"route": "clarify"}},
            {"id": "2", "type": "llm", "name": "draft", "output": "Could you clarify..."},
        ],
        "scores": {"helpfulness": 0.2},
        "feedback": [{"kind": "comment", "comment": "Why are you asking? I told you which one."}],
    }


def _bad_arguments(i: int, company: str) -> dict[str, Any]:
    return {
        "input": f"List the tickets {company} opened since last week.",
        "output": "I could not search the tickets.",
        "steps": [
            {"id": "1", "type": "router", "name": "route", "output": {"route": "tool"}},
            {
                "id": "2",
                "type": "tool",
                "name": "ticket_search",
                "input": {"since": "last week"},
                "error": "ValueError: since='last week' is not an ISO date (YYYY-MM-DD)",
            },
        ],
        "scores": {"groundedness": 0.3},
    }


PATTERNS = {
    "tool_timeout": _timeout,
    "answered_from_memory": _memory,
    "needless_clarification": _clarify,
    "bad_tool_arguments": _bad_arguments,
}


def traffic(
    patterns: list[str], per_pattern: int, week_start: datetime, *, tag: str = "w1"
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """Native trace records and their labels: ``per_pattern`` failing traces per pattern."""
    records: list[dict[str, Any]] = []
    labels: dict[str, dict[str, str]] = {}
    for p, name in enumerate(patterns):
        for i in range(per_pattern):
            company = COMPANIES[(i + 3 * p) % len(COMPANIES)]
            record = PATTERNS[name](i, company)
            trace_id = f"{tag}-{name}-{i:03d}"
            moment = week_start + timedelta(hours=7 * i + p)
            record.update(trace_id=trace_id, timestamp=moment.isoformat())
            records.append(record)
            labels[trace_id] = {"failure_mode": name, "root_cause": "unknown"}
    for i in range(5):  # passing traffic
        records.append(
            {
                "trace_id": f"{tag}-ok-{i}",
                "input": f"Hello number {i}",
                "output": "Hi! How can I help?",
                "scores": {"helpfulness": 0.9},
                "timestamp": (week_start + timedelta(hours=i)).isoformat(),
            }
        )
    return records, labels


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


WEEK1 = datetime(2026, 11, 2, 9, tzinfo=UTC)
WEEK2 = WEEK1 + timedelta(days=7)


#: The clustering tests' `add_traffic` fixture: (patterns, per pattern, week, tag) -> labels.
Ingest = Callable[[list[str], int, datetime, str], dict[str, dict[str, str]]]
