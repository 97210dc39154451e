"""Hand-made traffic for the datasets and export tests: failing traces of one cluster (with PII
in them), traces users liked, and a fixed cluster recorded the way clustering records it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from flywheel.config import SignalsConfig
from flywheel.datasets import ShippedCase, promote_shipped
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.store._tables import ClusterMemberRow, ClusterRow, ClusterRunRow
from flywheel.trace import Trace

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
EMAILS = ["jane.doe@example.com", "m.dyson@cyberdyne.io"]
PHONES = ["+1 415 555 0134", "(020) 7946 0958"]


def _trace(
    trace_id: str, request: str, answer: str, *, thumb: float, day: int, **meta: Any
) -> Trace:
    at = START + timedelta(days=day, minutes=len(trace_id))
    return Trace.model_validate(
        {
            "trace_id": trace_id,
            "input": {"input": request},
            "output": answer,
            "timestamp": at,
            "metadata": {"intent": "lookup", **meta},
            "feedback": [{"kind": "thumb", "value": thumb, "source": "user"}],
            "steps": [
                {
                    "id": f"{trace_id}-1",
                    "type": "router",
                    "name": "route",
                    "output": {"route": "search"},
                },
                {
                    "id": f"{trace_id}-2",
                    "type": "tool",
                    "name": "search_knowledge",
                    "input": {"query": request, "top_k": 3},
                    "output": {"documents": ["AN-1", "TK-2"]},
                },
                {
                    "id": f"{trace_id}-3",
                    "parent_id": f"{trace_id}-2",
                    "type": "tool",
                    "name": "bm25",
                    "input": {"query": request},
                    "output": {"hits": 2},
                },
                {"id": f"{trace_id}-4", "type": "llm", "name": "answer", "output": answer},
            ],
        }
    )


FAILING = [
    _trace(
        f"fail-{i}",
        f"When does the contract of customer {i} renew? Reach me at {EMAILS[i % 2]}.",
        f"I think it renews sometime next year; call Jane Doe on {PHONES[i % 2]}.",
        thumb=-1,
        day=i % 5,
        user_name="Jane Doe",
    )
    for i in range(6)
]
LIKED = [
    _trace(
        "good-status",
        "Is the notification service down? My number is +1 415 555 0134.",
        "The notification service is operational. [ST-notification-service-current]",
        thumb=1,
        day=1,
    ),
    _trace(
        "good-pricing",
        "What discount did Cyberdyne Systems get on their renewal?",
        "Cyberdyne Systems has a 14 percent discount on the renewal price. [AN-cyberdyne-renewal]",
        thumb=1,
        day=3,
    ),
    _trace(
        "good-pricing-again",
        "What discount did Cyberdyne Systems get on their renewal?",
        "Cyberdyne Systems has a 14 percent discount on the renewal price. [AN-cyberdyne-renewal]",
        thumb=1,
        day=4,
    ),
    _trace("good-empty", "Say nothing at all please", "", thumb=1, day=2),
]


def fixed_answer(trace: Trace) -> str:
    return f"The contract renews on 2027-01-12 [AN-renewal]. ({trace.trace_id})"


def load_traffic(store: Store, tmp_path: Path, traces: list[Trace] | None = None) -> None:
    path = tmp_path / "traffic.jsonl"
    items = traces if traces is not None else FAILING + LIKED
    path.write_bytes(b"\n".join(t.to_json() for t in items) + b"\n")
    ingest_paths(store, [path])
    detect_failures(store, SignalsConfig())


def record_cluster(store: Store, cluster_id: str, trace_ids: list[str]) -> None:
    """A cluster as `flywheel cluster` records it (run, cluster, members)."""
    pks = {s.trace.trace_id: s.pk for s in store.iter_traces()}
    with store.engine.begin() as conn:
        run = conn.execute(
            insert(ClusterRunRow).values(kind="full", model="test")
        ).inserted_primary_key
        run_id = int(run[0])  # type: ignore[index]
        conn.execute(
            insert(ClusterRow).values(
                id=cluster_id,
                label="vague renewal answers",
                keywords={},
                exemplar_ids={"ids": trace_ids[:1]},
                size=len(trace_ids),
                centroid=np.zeros(4, dtype=np.float32).tobytes(),
                created_run_id=run_id,
                last_run_id=run_id,
            )
        )
        for i, trace_id in enumerate(trace_ids):
            conn.execute(
                insert(ClusterMemberRow).values(
                    trace_pk=pks[trace_id],
                    cluster_id=cluster_id,
                    run_id=run_id,
                    strength=1.0 - i / 100,
                    signature_hash=f"h{i}",
                )
            )


def ship_fix(store: Store, cluster_id: str = "C-0001", traces: list[Trace] | None = None) -> Any:
    """What the approval step calls when the fix of ``cluster_id`` ships."""
    shipped = traces if traces is not None else FAILING[:4]
    return promote_shipped(
        store,
        cluster_id=cluster_id,
        candidate_id=f"flywheel/{cluster_id}/rules-1",
        replay_run_id="run-42",
        approver="alice",
        config_commit="abc1234",
        root_cause="prompt_instruction",
        cases=[
            ShippedCase(
                trace_id=t.trace_id,
                reference_output=fixed_answer(t),
                reference_trace=t.model_copy(
                    update={"output": fixed_answer(t), "trace_id": f"replay-{t.trace_id}"}
                ),
            )
            for t in shipped
        ],
    )
