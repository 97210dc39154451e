"""The approval queue's view of a gated candidate, and where the queue reads them from.

`CandidateQueue` is the extension point: the app and the CLI read candidates only through it.
`StoreQueue` implements it on the ``ui_candidates`` table, which the optimizer and replay
packages fill with `register_candidate` once a candidate has passed its gate. The severity it
returns is the cluster's *current* triage severity (a reviewer may have relabelled it since
the candidate was queued); the stored one is only the fallback for a cluster triage forgot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import utcnow
from ui.approvals._triage import triage_views
from ui.approvals.tables import CandidateRow


class Interval(BaseModel):
    low: float
    high: float


class Guardrail(BaseModel):
    """A guardrail metric as a ratio to baseline, with its interval and budget."""

    ratio: float
    interval: Interval | None = None
    budget: float
    ok: bool


class GateSummary(BaseModel):
    """The replay gate's numbers, each with its interval, as the approver sees them."""

    model_config = ConfigDict(extra="allow")

    passed: bool
    target_cases: int = 0
    target_fixed: int = 0
    target_broken: int = 0
    target_p_value: float | None = None
    target_alpha: float | None = None
    regression_delta: float | None = None
    regression_ci: Interval | None = None
    regression_margin: float | None = None
    blocking_cases: int = 0
    blocking_failures: int = 0
    guardrails: dict[str, Guardrail] = Field(default_factory=dict)


class FlippedCase(BaseModel):
    """A replayed case whose outcome changed: baseline output next to the candidate's."""

    case_id: str
    #: fixed (failed at baseline, passes with the candidate) or broken (the reverse)
    direction: str
    slice: str = "target"
    input: str = ""
    baseline_output: str = ""
    candidate_output: str = ""


class Candidate(BaseModel):
    """A gated candidate fix: its branch in the configuration repository and its evidence."""

    id: str = Field(min_length=1, max_length=200)
    cluster_id: str
    cluster_label: str = ""
    severity: str = Field(pattern=r"^S[1-4]$")
    priority: float = 0.0
    author: str
    strategy: str = ""
    repo: str
    branch: str
    main_branch: str = "main"
    origin: str = ""
    base_sha: str
    diff: str = ""
    rationale: str = ""
    replay_run: str
    gate: GateSummary
    flips: list[FlippedCase] = Field(default_factory=list)
    status: str = "gated"
    created_at: datetime = Field(default_factory=utcnow)


class CandidateQueue(Protocol):
    """Where the approval queue reads candidates from.

    ``queue`` returns one page of candidates with the given status, highest priority first;
    ``get`` raises `UserError` for an unknown id.
    """

    def queue(
        self, *, status: str = "gated", limit: int = 20, offset: int = 0
    ) -> list[Candidate]: ...

    def count(self, *, status: str = "gated") -> int: ...

    def get(self, candidate_id: str) -> Candidate: ...


def _candidate(row: Any, severities: dict[str, str] | None = None) -> Candidate:
    data = dict(row._mapping) if hasattr(row, "_mapping") else row
    data = {key: data[key] for key in Candidate.model_fields}
    data["flips"] = data["flips"].get("cases", [])
    current = (severities or {}).get(data["cluster_id"])
    if current:
        data["severity"] = current.upper()
    return Candidate.model_validate(data)


def current_severities(store: Store) -> dict[str, str]:
    """Each cluster's severity as triage (and a reviewer's label) says now."""
    return {cid: view.severity for cid, view in triage_views(store).items()}


class StoreQueue:
    """`CandidateQueue` on the ``ui_candidates`` table (indexed by status and priority)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def queue(self, *, status: str = "gated", limit: int = 20, offset: int = 0) -> list[Candidate]:
        query = (
            select(CandidateRow.__table__)
            .where(CandidateRow.status == status)
            .order_by(CandidateRow.priority.desc(), CandidateRow.id)
            .limit(limit)
            .offset(offset)
        )
        severities = current_severities(self.store)
        with self.store.engine.connect() as conn:
            return [_candidate(row, severities) for row in conn.execute(query)]

    def count(self, *, status: str = "gated") -> int:
        query = select(func.count()).select_from(CandidateRow).where(CandidateRow.status == status)
        with self.store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def get(self, candidate_id: str) -> Candidate:
        query = select(CandidateRow.__table__).where(CandidateRow.id == candidate_id)
        with self.store.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise UserError(
                f"no candidate '{candidate_id}'; the approval queue lists them "
                "(`flywheel ui`, page Approvals)"
            )
        return _candidate(row, current_severities(self.store))


def register_candidate(store: Store, candidate: Candidate) -> None:
    """Put a gated candidate in the approval queue (re-registering a re-gated one updates it)."""
    values = candidate.model_dump(mode="python")
    values["gate"] = candidate.gate.model_dump(mode="json")
    values["flips"] = {"cases": [flip.model_dump(mode="json") for flip in candidate.flips]}
    values["status"] = "gated"
    with store.engine.begin() as conn:
        existing = conn.execute(
            select(CandidateRow.status).where(CandidateRow.id == candidate.id)
        ).scalar_one_or_none()
        if existing is not None and existing != "gated":
            raise UserError(f"candidate '{candidate.id}' is already {existing}; give a new id")
        dialect = conn.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(CandidateRow).values(values)
        update = {key: statement.excluded[key] for key in values if key != "id"}
        conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=update))
