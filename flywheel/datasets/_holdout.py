"""The frozen holdout: a slice no optimizer and no tuning step may read.

Access is checked in code: `HoldoutGuard.read` needs a declared purpose, refuses the
purposes of optimizers and tuning with `HoldoutAccessDenied`, and logs every attempt (allowed
or not) in ``holdout_reads``. Each version of the holdout has its content hash chained in the
datasets' audit log when it is made, and every read recomputes the hash from the rows: a row
edited behind Flywheel's back makes the read fail with `HoldoutTampered`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Connection, insert, select

from flywheel.datasets._audit import append_entry
from flywheel.datasets._models import EvalCase, Role, SetVersion
from flywheel.datasets._sets import current_members, latest_version, load_cases, role_hash
from flywheel.datasets._tables import DatasetAuditRow, HoldoutReadRow
from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import utcnow


class HoldoutPurpose(StrEnum):
    """Why the holdout is read. The first three are allowed; the rest are always refused."""

    final_evaluation = "final_evaluation"
    audit = "audit"
    #: Only the trace ids, so that optimizers and exports can leave the holdout out.
    exclusion = "exclusion"
    optimization = "optimization"
    tuning = "tuning"
    few_shot_selection = "few_shot_selection"
    threshold_tuning = "threshold_tuning"
    training_data = "training_data"


REFUSED: frozenset[HoldoutPurpose] = frozenset(
    {
        HoldoutPurpose.optimization,
        HoldoutPurpose.tuning,
        HoldoutPurpose.few_shot_selection,
        HoldoutPurpose.threshold_tuning,
        HoldoutPurpose.training_data,
    }
)


class HoldoutAccessDenied(UserError):
    """An optimizer or tuning step tried to read the frozen holdout."""


class HoldoutTampered(UserError):
    """The holdout's rows no longer match the hash recorded when it was frozen."""


class HoldoutRead(BaseModel):
    id: int
    at: datetime
    reader: str
    purpose: str
    allowed: bool
    cases: int
    content_hash: str | None
    detail: str


def chain_holdout(conn: Connection, version: SetVersion, *, actor: str) -> None:
    """Record a holdout version's hash in the audit chain (called when the holdout changes)."""
    append_entry(
        conn,
        actor=actor,
        action="holdout_freeze",
        subject=f"holdout:v{version.version}",
        detail={"version": version.version, "content_hash": version.content_hash},
    )


def frozen_hash(conn: Connection) -> str | None:
    """The holdout hash most recently chained in the audit log."""
    row = conn.execute(
        select(DatasetAuditRow.detail)
        .where(DatasetAuditRow.action == "holdout_freeze")
        .order_by(DatasetAuditRow.id.desc())
        .limit(1)
    ).first()
    return str(row.detail["content_hash"]) if row else None


def holdout_problem(conn: Connection) -> str | None:
    """None when the holdout's rows match its frozen hash, else what is wrong."""
    members = current_members(conn, Role.holdout)
    version = latest_version(conn, Role.holdout)
    recorded = frozen_hash(conn)
    if version is None:
        return "the holdout has rows but no recorded version" if members else None
    actual = role_hash(Role.holdout, members, version.thresholds)
    if actual != version.content_hash:
        return f"holdout rows do not match version {version.version} (hash {actual})"
    if recorded != version.content_hash:
        return f"holdout version {version.version} is not the hash chained in the audit log"
    return None


class HoldoutGuard:
    """The only way to read the holdout. ``reader`` names who reads (a user, a worker)."""

    def __init__(self, store: Store, *, reader: str) -> None:
        if not reader.strip():
            raise UserError("name the holdout reader (a user or a component)")
        self._store = store
        self.reader = reader

    def read(self, purpose: HoldoutPurpose | str) -> list[EvalCase]:
        """The holdout's cases, for an allowed purpose (logged); refused purposes raise."""
        checked = self._check(purpose)
        with self._store.engine.begin() as conn:
            problem = holdout_problem(conn)
            version = latest_version(conn, Role.holdout)
            digest = version.content_hash if version else None
            if problem:
                self._log(conn, checked, allowed=False, cases=0, digest=digest, detail=problem)
        if problem:
            raise HoldoutTampered(f"{problem}; run `flywheel datasets verify`")
        with self._store.engine.begin() as conn:
            cases = load_cases(conn, Role.holdout)
            self._log(conn, checked, allowed=True, cases=len(cases), digest=digest, detail="")
        return cases

    def trace_ids(self) -> set[str]:
        """The holdout's trace ids only (purpose ``exclusion``, logged): what to leave out."""
        with self._store.engine.begin() as conn:
            cases = load_cases(conn, Role.holdout)
            version = latest_version(conn, Role.holdout)
            self._log(
                conn,
                HoldoutPurpose.exclusion,
                allowed=True,
                cases=len(cases),
                digest=version.content_hash if version else None,
                detail="trace ids only",
            )
        return {case.origin.trace_id for case in cases}

    def _check(self, purpose: HoldoutPurpose | str) -> HoldoutPurpose:
        try:
            checked = HoldoutPurpose(purpose)
        except ValueError:
            valid = ", ".join(p.value for p in HoldoutPurpose if p not in REFUSED)
            raise UserError(f"unknown holdout purpose '{purpose}'; allowed: {valid}") from None
        if checked in REFUSED or checked is HoldoutPurpose.exclusion:
            with self._store.engine.begin() as conn:
                self._log(conn, checked, allowed=False, cases=0, digest=None, detail="refused")
            if checked is HoldoutPurpose.exclusion:
                raise HoldoutAccessDenied(
                    "purpose 'exclusion' reads trace ids only: use trace_ids()"
                )
            raise HoldoutAccessDenied(
                f"{self.reader} may not read the frozen holdout for '{checked}': no optimizer "
                "or tuning step may see it (allowed purposes: final_evaluation, audit)"
            )
        return checked

    def _log(
        self,
        conn: Connection,
        purpose: HoldoutPurpose,
        *,
        allowed: bool,
        cases: int,
        digest: str | None,
        detail: str,
    ) -> None:
        conn.execute(
            insert(HoldoutReadRow).values(
                at=utcnow(),
                reader=self.reader,
                purpose=purpose.value,
                allowed=allowed,
                cases=cases,
                content_hash=digest,
                detail=detail,
            )
        )


def holdout_reads(store: Store, *, limit: int = 100) -> list[HoldoutRead]:
    """The access log of the holdout, newest first."""
    query = select(HoldoutReadRow).order_by(HoldoutReadRow.id.desc()).limit(limit)
    with store.engine.connect() as conn:
        return [
            HoldoutRead.model_validate(row, from_attributes=True) for row in conn.execute(query)
        ]
