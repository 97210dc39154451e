"""Reading and writing the optimizer's tables through the shared `Store` engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, insert, select, update

from flywheel.errors import UserError
from flywheel.fixes import canonical_fix_type
from flywheel.store import Store
from flywheel.store._tables import utcnow
from optimizers._split import Split
from optimizers._tables import CandidateRow, HandoffRow, SplitRow


class CandidateRecord(BaseModel):
    """The optimizers' one candidate model: a strategy's proposal on a cluster made into a
    branch (``proposed``), or an attempt that failed and why (``failed``); later ``rejected``
    or ``shipped``. A worker makes it, `OptimizerStore` stores it (``candidate_id`` 0 until
    then), `flywheel candidates --json` prints it; the gate sees it as the core's
    `flywheel.candidates.CandidateSpec`."""

    model_config = ConfigDict(extra="forbid")

    #: 0 until stored.
    candidate_id: int = 0
    cluster_id: str
    strategy: str
    #: The strategy's n-th candidate on the cluster (its branch's suffix); 0 for a failure.
    number: int = 0
    status: str
    reason: str = ""
    branch: str | None = None
    base_commit: str | None = None
    head_commit: str | None = None
    worktree: str | None = None
    root_cause: str = ""
    fix_type: str = ""
    files_changed: list[str] = Field(default_factory=list)
    rationale: str = ""
    cost_usd: float = 0.0
    created_at: datetime | None = None


class Handoff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster_id: str
    root_cause: str
    owner: str
    reason: str
    evidence: dict[str, Any] = Field(default_factory=dict)


def candidate_row(record: CandidateRecord, **detail: Any) -> dict[str, Any]:
    """The table row of a record not stored yet (`OptimizerStore.add_candidates` takes it)."""
    values = record.model_dump(exclude={"candidate_id", "created_at"})
    values["detail"] = detail
    return values


def _record(row: Any) -> CandidateRecord:
    return CandidateRecord(
        candidate_id=row.id,
        cluster_id=row.cluster_id,
        strategy=row.strategy,
        number=row.number,
        status=row.status,
        reason=row.reason,
        branch=row.branch,
        base_commit=row.base_commit,
        head_commit=row.head_commit,
        worktree=row.worktree,
        root_cause=row.root_cause,
        fix_type=canonical_fix_type(row.fix_type),
        files_changed=list((row.files_changed or {}).get("files", [])),
        rationale=row.rationale,
        cost_usd=row.cost_usd,
        created_at=row.created_at,
    )


class OptimizerStore:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    # -- splits ----------------------------------------------------------------------------

    def load_split(self, cluster_id: str) -> Split | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(SplitRow).where(SplitRow.cluster_id == cluster_id)).first()
        if row is None:
            return None
        return Split.sealed(
            cluster_id=row.cluster_id,
            seed=row.seed,
            fraction=row.fraction,
            optimisation=row.optimisation_ids.get("ids", []),
            validation=row.validation_ids.get("ids", []),
        )

    def save_split(self, split: Split) -> None:
        values = {
            "seed": split.seed,
            "fraction": split.fraction,
            "optimisation_ids": {"ids": list(split.optimisation_ids)},
            "validation_ids": {"ids": split.validation_ids_for_replay()},
            "updated_at": utcnow(),
        }
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(SplitRow.cluster_id).where(SplitRow.cluster_id == split.cluster_id)
            ).first()
            if exists:
                conn.execute(
                    update(SplitRow).where(SplitRow.cluster_id == split.cluster_id).values(**values)
                )
            else:
                conn.execute(insert(SplitRow).values(cluster_id=split.cluster_id, **values))

    # -- candidates ------------------------------------------------------------------------

    def next_number(self, cluster_id: str, strategy: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.max(CandidateRow.number)).where(
                    CandidateRow.cluster_id == cluster_id, CandidateRow.strategy == strategy
                )
            ).scalar_one()
        return int(value or 0) + 1

    def add_candidate(self, values: dict[str, Any]) -> int:
        files = values.pop("files_changed", [])
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(CandidateRow).values(files_changed={"files": list(files)}, **values)
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def add_candidates(self, rows: list[dict[str, Any]]) -> list[CandidateRecord]:
        """Insert candidates in one transaction (all or none); their records, in order."""
        ids: list[int] = []
        with self.engine.begin() as conn:
            for given in rows:
                values = dict(given)
                files = values.pop("files_changed", [])
                result = conn.execute(
                    insert(CandidateRow).values(files_changed={"files": list(files)}, **values)
                )
                ids.append(int(result.inserted_primary_key[0]))  # type: ignore[index]
            found = (
                {
                    row.id: _record(row)
                    for row in conn.execute(select(CandidateRow).where(CandidateRow.id.in_(ids)))
                }
                if ids
                else {}
            )
        return [found[i] for i in ids]

    def candidates(
        self, *, cluster_id: str | None = None, status: str | None = None
    ) -> list[CandidateRecord]:
        query = select(CandidateRow).order_by(CandidateRow.id)
        if cluster_id is not None:
            query = query.where(CandidateRow.cluster_id == cluster_id)
        if status is not None:
            query = query.where(CandidateRow.status == status)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def candidate(self, candidate_id: int) -> CandidateRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(CandidateRow).where(CandidateRow.id == candidate_id)).first()
        if row is None:
            raise UserError(f"no candidate {candidate_id}; list them with `flywheel candidates`")
        return _record(row)

    def set_status(self, candidate_id: int, status: str, reason: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(CandidateRow)
                .where(CandidateRow.id == candidate_id)
                .values(status=status, reason=reason, worktree=None)
            )

    # -- hand-offs -------------------------------------------------------------------------

    def add_handoff(self, handoff: Handoff) -> bool:
        """Record a hand-off once per (cluster, root cause); returns True when new."""
        with self.engine.begin() as conn:
            exists = conn.execute(
                select(HandoffRow.id).where(
                    HandoffRow.cluster_id == handoff.cluster_id,
                    HandoffRow.root_cause == handoff.root_cause,
                )
            ).first()
            if exists:
                return False
            conn.execute(insert(HandoffRow).values(**handoff.model_dump()))
            return True

    def handoffs(self) -> list[Handoff]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(HandoffRow).order_by(HandoffRow.id))
            return [
                Handoff(
                    cluster_id=r.cluster_id,
                    root_cause=r.root_cause,
                    owner=r.owner,
                    reason=r.reason,
                    evidence=r.evidence,
                )
                for r in rows
            ]
