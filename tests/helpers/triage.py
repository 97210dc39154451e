"""The triage tests: crafted traces of each failure kind, and a way to store them as a cluster."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from flywheel.config import SignalsConfig
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.store._tables import ClusterMemberRow, ClusterRow, ClusterRunRow, TraceRow

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _doc(ident: str, score: float, day: str, title: str) -> dict[str, Any]:
    return {"id": ident, "score": score, "date": day, "title": title}


def make_trace(
    kind: str,
    i: int,
    *,
    request: str | None = None,
    output: str | None = None,
    feedback: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A native trace record of one kind: healthy, direct, timeout, tool_args, stale, draft,
    judge, unsupported, recipient, plain_wrong (no evidence beyond a thumbs down)."""
    tid = f"{kind}-{i:03d}"
    route, steps, scores = "search", [], {"helpfulness": 0.2, "groundedness": 0.3}
    docs = [
        _doc(f"AN-acct{i % 3}-renewal", 15.0, "2026-10-01", f"Account {i % 3} renewal terms"),
        _doc(f"TK-acct{i % 3}-1", 12.0, "2026-11-01", f"Account {i % 3} ticket 1"),
    ]
    req = request or f"What are the renewal terms for Globex account {i}?"
    out = output or f"The renewal is on 2027-01-0{1 + i % 8}. [AN-acct{i % 3}-renewal]"
    tool_name, tool_input, tool_error, tool_latency = "search_knowledge", {"q": req}, None, 200.0
    if kind == "healthy":
        scores = {"helpfulness": 0.9, "groundedness": 0.9}
        if i % 2:
            route, docs = "direct", []
            req, out = "Hello there!", "Hi! How can I help?"
    elif kind == "direct":
        route, docs = "direct", []
        out = "As far as I remember, the account is fine."
    elif kind == "timeout":
        route, docs, tool_name = "tool", [], "status_lookup"
        tool_error, tool_latency = "TimeoutError: tool timed out", 25000.0
        out = "Sorry, I could not get that information right now."
    elif kind == "tool_args":
        route, docs, tool_name = "tool", [], "ticket_search"
        tool_input = {"since": "last week"}
        tool_error = "ValueError: since='last week' is not an ISO date (YYYY-MM-DD)"
        out = "Sorry, I could not get that information right now."
    elif kind == "stale":
        docs = [
            _doc("POL-refunds-v1", 16.0, "2025-03-01", "Policy: refunds (2025)"),
            _doc("POL-refunds-v2", 15.0, "2026-09-01", "Policy: refunds (2026)"),
        ]
        req, out = "What is our refund policy?", "Refunds within 10 days. [POL-refunds-v1]"
    elif kind == "draft":
        req = f"Draft an email to Bill Lumbergh at Initech about renewal {i}."
        out = "Key points: the renewal is due in March. [AN-acct0-renewal]"
    elif kind == "recipient":
        req = f"Write an email to Bill at Initech about ticket {i}."
        out = "Subject: Initech\n\nHi Jordan,\n\nYour ticket is fixed.\n\nBest regards"
    elif kind == "judge":
        scores = {"helpfulness": 0.1, "groundedness": 0.9}
    elif kind == "unsupported":
        route, docs = "direct", []
        req, out = f"Cancel the subscription of customer {i}.", "I'm sorry, I can't do that here."
    elif kind == "plain_wrong":
        scores = {"helpfulness": 0.9, "groundedness": 0.9}
    req, out = request or req, output or out  # explicit text wins over the kind's
    router = {"id": f"{tid}-r", "type": "router", "name": "route", "output": {"route": route}}
    steps = [router]
    if route != "direct":
        tool: dict[str, Any] = {
            "id": f"{tid}-t",
            "type": "tool",
            "name": tool_name,
            "input": tool_input,
            "latency_ms": tool_latency,
        }
        if tool_error:
            tool["error"] = tool_error
        else:
            tool["output"] = {"documents": [d["id"] for d in docs]}
        steps.append(tool)
        if docs:
            steps.append(
                {
                    "id": f"{tid}-bm25",
                    "parent_id": f"{tid}-t",
                    "type": "retriever",
                    "name": "bm25",
                    "output": {"documents": docs},
                }
            )
    steps.append({"id": f"{tid}-llm", "type": "llm", "name": "answer", "output": out})
    latency = tool_latency + 500.0 if route != "direct" else 500.0
    return {
        "trace_id": tid,
        "session_id": f"s-{tid}",
        "user_id": f"u-{i % 7}",
        "timestamp": (START + timedelta(minutes=i)).isoformat(),
        "input": req,
        "output": out,
        "latency_ms": latency,
        "steps": steps,
        "scores": scores,
        "feedback": list(feedback),
    }


def ingest(store: Store, tmp_path: Path, records: Sequence[dict[str, Any]]) -> None:
    """Write ``records`` to a JSONL file, ingest it, detect failure signals."""
    path = tmp_path / f"traces-{len(list(tmp_path.glob('traces-*')))}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    counts = ingest_paths(store, [path])
    assert counts.quarantined == 0, counts.errors
    detect_failures(store, SignalsConfig())


def add_cluster(store: Store, cluster_id: str, trace_ids: Sequence[str]) -> int:
    """Insert a cluster run, a cluster and its members directly (as clustering would)."""
    with store.engine.begin() as conn:
        result = conn.execute(insert(ClusterRunRow).values(kind="full", model="test"))
        run_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        conn.execute(
            insert(ClusterRow).values(
                id=cluster_id,
                label=cluster_id,
                centroid=b"",
                size=len(trace_ids),
                created_run_id=run_id,
                last_run_id=run_id,
            )
        )
        pks = dict(
            conn.execute(
                TraceRow.__table__.select()
                .with_only_columns(TraceRow.trace_id, TraceRow.id)
                .where(TraceRow.trace_id.in_(list(trace_ids)))
            ).all()
        )
        for tid in trace_ids:
            conn.execute(
                insert(ClusterMemberRow).values(
                    trace_pk=pks[tid], cluster_id=cluster_id, run_id=run_id, signature_hash="x"
                )
            )
    return run_id


def healthy(n: int = 30) -> list[dict[str, Any]]:
    return [make_trace("healthy", i) for i in range(n)]


def kind_traces(kind: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [make_trace(kind, i) for i in range(start, start + n)]
