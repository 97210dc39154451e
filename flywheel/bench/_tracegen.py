"""Synthetic native traces of a given size, for benchmarks (deterministic for a seed)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

_WORDS = [
    "account",
    "escalation",
    "renewal",
    "invoice",
    "contract",
    "customer",
    "onboarding",
    "outage",
    "ticket",
    "policy",
    "refund",
    "shipment",
    "warehouse",
    "pricing",
    "discount",
    "quarterly",
    "review",
    "meeting",
    "follow-up",
    "draft",
    "email",
    "summary",
    "latency",
    "search",
    "document",
    "retrieval",
    "answer",
    "citation",
    "status",
    "incident",
    "migration",
]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def synthetic_trace(i: int, rng: random.Random) -> dict[str, object]:
    """A trace of about 2 KB as JSON: a router, a retrieval and an LLM step, feedback, a score."""
    route = rng.choice(["search", "direct_answer", "draft", "clarify"])
    return {
        "trace_id": f"bench-{i}",
        "session_id": f"s-{i // 4}",
        "timestamp": f"2026-11-{16 + i % 7:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
        "input": _text(rng, 25),
        "output": _text(rng, 90),
        "latency_ms": round(rng.lognormvariate(7, 0.5), 1),
        "cost_usd": round(rng.uniform(0.0005, 0.01), 5),
        "steps": [
            {
                "id": "s1",
                "type": "router",
                "name": "route",
                "output": {"route": route},
                "latency_ms": 12,
            },
            {
                "id": "s2",
                "parent_id": "s1",
                "type": "retriever",
                "name": "search_docs",
                "input": {"query": _text(rng, 6)},
                "output": [
                    {"doc_id": f"d{rng.randrange(200)}", "score": round(rng.random(), 3)}
                    for _ in range(3)
                ],
                "latency_ms": 80,
            },
            {
                "id": "s3",
                "parent_id": "s1",
                "type": "llm",
                "name": "answer",
                "model": "acme-sim-1",
                "usage": {"prompt_tokens": 812, "completion_tokens": 143},
                "latency_ms": 900,
            },
        ],
        "feedback": [{"kind": "thumb", "value": -1, "comment": _text(rng, 8)}]
        if i % 9 == 0
        else [],
        "scores": {"groundedness": round(rng.random(), 3)},
        "metadata": {"app_version": "2.3.1", "tenant": "acme", "note": _text(rng, 20)},
    }


def write_synthetic(path: Path, n: int, seed: int = 0) -> int:
    """Write ``n`` synthetic traces as native JSONL; returns the file size in bytes."""
    rng = random.Random(seed)
    with path.open("wb") as handle:
        for i in range(n):
            handle.write(orjson.dumps(synthetic_trace(i, rng)) + b"\n")
    return path.stat().st_size
