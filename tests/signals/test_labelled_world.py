"""A small labelled world in the shape that went wrong: feedback of the producer's own kinds and
sources (escalation, reopened, slack_reaction, ide) and a higher-is-worse hallucination score,
written natively and as OTLP (feedback as span events, evaluations as span attributes).

Before: 40 % of the native traces were quarantined for their feedback source, healthy traces
were flagged by a hallucination of 0.1 read as low, and the OTLP variant found few failures
(its events and eval attributes were not read). The goal is recall >= 0.95, precision >= 0.90.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from flywheel.config import SignalsConfig
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store

FAILURES: list[tuple[list[dict[str, Any]], dict[str, float]]] = [
    ([{"kind": "escalation", "source": "slack_reaction"}], {"hallucination": 0.1}),
    ([{"kind": "reopened", "source": "ide"}], {"hallucination": 0.2}),
    ([{"kind": "thumb", "value": -1, "source": "slack_reaction"}], {"hallucination": 0.1}),
    ([], {"hallucination": 0.9, "faithfulness": 0.4}),
]
HEALTHY: list[tuple[list[dict[str, Any]], dict[str, float]]] = [
    ([], {"hallucination": 0.1, "faithfulness": 0.9}),
    ([{"kind": "thumb", "value": 1, "source": "ide"}], {"hallucination": 0.0}),
    ([{"kind": "copied", "source": "ide"}], {"hallucination": 0.2, "faithfulness": 0.8}),
]


def _world(seed: int = 7, n: int = 300) -> list[tuple[dict[str, Any], bool]]:
    rng = random.Random(seed)
    world = []
    for i in range(n):
        failing = rng.random() < 0.25
        feedback, scores = rng.choice(FAILURES if failing else HEALTHY)
        record = {
            "trace_id": f"w{i}",
            "session_id": f"s{i}",
            "input": f"Question {i} about the billing of account {i * 7}",
            "output": f"Answer {i}",
            "timestamp": f"2026-03-02T10:{i % 60:02d}:00Z",
            "latency_ms": 1000.0,
            "cost_usd": 0.001,
            "feedback": feedback,
            "scores": scores,
        }
        world.append((record, failing))
    return world


def _native(path: Path, world: list[tuple[dict[str, Any], bool]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r, _ in world), encoding="utf-8")


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _otlp(path: Path, world: list[tuple[dict[str, Any], bool]]) -> None:
    lines = []
    for i, (record, _) in enumerate(world):
        start = 1_772_445_600_000_000_000 + i * 60_000_000_000
        events = [
            {
                "name": "feedback",
                "timeUnixNano": str(start + 2_000_000_000),
                "attributes": [_attr(f"feedback.{k}", v) for k, v in fb.items()],
            }
            for fb in record["feedback"]
        ]
        span = {
            "traceId": record["trace_id"],
            "spanId": f"root{i}",
            "name": "agent",
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 1_000_000_000),
            "attributes": [
                _attr("openinference.span.kind", "AGENT"),
                _attr("input.value", record["input"]),
                _attr("output.value", record["output"]),
                _attr("session.id", record["session_id"]),
                *[_attr(f"eval.{name}.score", float(v)) for name, v in record["scores"].items()],
            ],
            "events": events,
        }
        document = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
        lines.append(json.dumps(document))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("writer", [_native, _otlp], ids=["native", "otlp"])
def test_a_labelled_world_is_detected_in_every_format(
    writer: Any, store: Store, tmp_path: Path
) -> None:
    world = _world()
    path = tmp_path / "world.jsonl"
    writer(path, world)

    counts = ingest_paths(store, [path])
    detect_failures(store, SignalsConfig())

    assert (counts.stored, counts.quarantined) == (len(world), 0)
    flagged = {t.trace_id for t in store.list_traces(failing=True, limit=10_000)}
    truth = {record["trace_id"] for record, failing in world if failing}
    recall = len(flagged & truth) / len(truth)
    precision = len(flagged & truth) / max(1, len(flagged))
    assert recall >= 0.95, (recall, sorted(truth - flagged)[:5])
    assert precision >= 0.90, (precision, sorted(flagged - truth)[:5])
