"""The records of the living eval sets: roles, tags, cases, their origin and expected behaviour."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from flywheel.trace import Trace, content_digest

#: Version of the stored case body; bump with a migration when its shape changes.
DATASETS_SCHEMA_VERSION = 1


class Role(StrEnum):
    """What a set is for. Ordered from the loosest to the strictest (``holdout`` stands apart).

    - ``backlog``: real failures not yet understood well enough to gate.
    - ``monitoring``: larger, noisier; a drop is investigated, not blocking.
    - ``regression``: failures that were fixed; a fix must not bring them back.
    - ``blocking``: small, stable, severe; a failure stops a release (changes need sign-off).
    - ``holdout``: frozen; no optimizer or tuning step may read it (see `HoldoutGuard`).
    """

    backlog = "backlog"
    monitoring = "monitoring"
    regression = "regression"
    blocking = "blocking"
    holdout = "holdout"


#: Promotion order: `promote` moves a case up this list, `demote` down.
LADDER: tuple[Role, ...] = (Role.backlog, Role.monitoring, Role.regression, Role.blocking)


class Tag(StrEnum):
    golden = "golden"
    regression = "regression"
    adversarial = "adversarial"
    distribution = "distribution"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Origin(_Frozen):
    """Where a case came from."""

    trace_id: str = Field(min_length=1)
    source: str | None = None
    cluster_id: str | None = None
    root_cause: str | None = None
    timestamp: datetime | None = None


class Expected(_Frozen):
    """The expected behaviour: a reference output, checks, or a rubric (any may be absent).

    ``checks`` use replay's expectation keys (``route``, ``tools``, ``must_cite``, ``format``)
    so a case turns into a replay case without translation. ``reference_trace`` is the
    validated run that produced ``reference_output`` (its tool calls rebuild the chat).
    """

    reference_output: str | None = None
    checks: dict[str, Any] = Field(default_factory=dict)
    rubric: str | None = None
    reference_trace: Trace | None = None

    @property
    def empty(self) -> bool:
        return self.reference_output is None and not self.checks and self.rubric is None


class Provenance(_Frozen):
    """Where a piece of validated behaviour came from; carried by every exported record."""

    trace_ids: tuple[str, ...] = ()
    cluster: str | None = None
    candidate: str | None = None
    replay_run: str | None = None
    approver: str | None = None
    config_commit: str | None = None


class EvalCase(_Frozen):
    """One case of an eval set. ``inputs`` is the original request (the trace's input)."""

    case_id: str
    role: Role
    tags: tuple[Tag, ...] = ()
    inputs: str | dict[str, Any] | list[Any]
    origin: Origin
    expected: Expected = Field(default_factory=Expected)
    provenance: Provenance = Field(default_factory=Provenance)
    #: The original failing output (the "rejected" side of a preference pair), if it failed.
    failing_output: str | None = None
    added_by: str
    added_at: datetime
    schema_version: int = DATASETS_SCHEMA_VERSION

    def body(self) -> dict[str, Any]:
        """What is stored and hashed: everything but the role and the bookkeeping."""
        return self.model_dump(
            mode="json", exclude={"case_id", "role", "added_by", "added_at"}, exclude_none=True
        )

    @property
    def digest(self) -> str:
        return body_digest(self.body())


class SetVersion(_Frozen):
    """One version of a role's set."""

    role: Role
    version: int
    content_hash: str
    size: int
    thresholds: dict[str, float]
    actor: str
    reason: str
    signoff_id: int | None
    created_at: datetime


class SignOff(_Frozen):
    """An owner's approval of a change to the blocking set (recorded in the audit chain)."""

    owner: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class ShippedCase(_Frozen):
    """One of a shipped fix's cases: the failing trace and the candidate's validated output."""

    trace_id: str = Field(min_length=1)
    reference_output: str = Field(min_length=1)
    source: str | None = None
    #: The validated replay run of the candidate on this case (rebuilds tool calls in SFT).
    reference_trace: Trace | None = None


def body_digest(body: dict[str, Any]) -> str:
    return content_digest(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
