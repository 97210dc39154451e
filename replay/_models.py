"""The records replay passes around: cases, configurations, candidates, per-case results."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from flywheel.trace import Trace, content_digest

#: Version of the stored case and result records; bump with a migration when they change.
REPLAY_SCHEMA_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectations(_Frozen):
    """What a correct replay of a case must show, where someone knows it (all optional)."""

    #: The route the router must choose (``Trace.route``).
    route: str | None = None
    #: Tool names of which at least one must be called.
    tools: tuple[str, ...] = ()
    #: The answer must cite at least one retrieved document.
    must_cite: bool = False
    #: A format constraint on the output: ``bullets``, ``json`` or ``regex:<pattern>``.
    format: str | None = None
    #: A reference answer: the output must contain it (case-insensitive, spaces normalised).
    reference: str | None = None


class Case(_Frozen):
    """One request to replay, taken from a production trace.

    ``inputs`` go to the agent as they are (plus ``repeat``); ``signals`` are the failure signal
    kinds the original trace carried (what "the failure recurs" means for this case).
    """

    case_id: str = Field(min_length=1)
    inputs: dict[str, Any]
    session_id: str | None = None
    #: Stratum of the regression sample (``route|intent|cluster``) or the cluster of a slice.
    stratum: str | None = None
    cluster_id: str | None = None
    signals: tuple[str, ...] = ()
    expected: Expectations = Field(default_factory=Expectations)

    @cached_property
    def digest(self) -> str:
        """Content identity: results are cached by it, so an edited case is a new case."""
        return content_digest(
            orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        )


class Suite(StrEnum):
    validation = "validation"
    regression = "regression"
    blocking = "blocking"


class CaseSet(_Frozen):
    """A named, versioned set of cases; its digest is the hash of its content."""

    name: str = Field(min_length=1)
    suite: Suite
    cluster_id: str | None = None
    cases: tuple[Case, ...]
    #: How the set was built (parameters, counts per stratum): shown, not hashed.
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def digest(self) -> str:
        body = orjson.dumps(
            {
                "suite": self.suite.value,
                "cluster_id": self.cluster_id,
                "cases": sorted(case.digest for case in self.cases),
            },
            option=orjson.OPT_SORT_KEYS,
        )
        return content_digest(body)


class ConfigRef(_Frozen):
    """A configuration of the agent under test: a directory (a worktree), maybe a commit."""

    directory: Path
    commit: str | None = None

    @property
    def digest(self) -> str:
        """Hash of the directory's files (paths and bytes; hidden entries such as .git skipped).

        The content, not the commit, keys the cache: two commits with equal trees share results
        and an uncommitted edit never reuses stale ones.
        """
        return directory_digest(self.directory)


class Status(StrEnum):
    passed = "pass"
    failed = "fail"
    error = "error"


class Check(_Frozen):
    """One scorer's verdict on one trace: ``passed`` None means "does not apply to this case"."""

    name: str
    passed: bool | None
    value: float | None = None
    detail: str = ""


class CaseResult(_Frozen):
    """The outcome of one (configuration, case, repeat): a verdict, or an error kept as data."""

    config_digest: str
    case_digest: str
    case_id: str
    repeat: int = Field(ge=0)
    status: Status
    #: ``agent`` (raised, HTTP error, garbage), ``timeout``, ``invalid_trace``, ``worker`` (the
    #: Ray worker running it died on every retry) or ``scorer``.
    error_kind: Literal["agent", "timeout", "invalid_trace", "worker", "scorer"] | None = None
    error: str | None = None
    checks: tuple[Check, ...] = ()
    scorer_key: str = ""
    session_id: str | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    tool_calls: int | None = None
    duration_s: float = 0.0
    trace: Trace | None = None


def directory_digest(directory: Path) -> str:
    root = Path(directory)
    if not root.is_dir():
        from flywheel.errors import UserError

        raise UserError(f"configuration directory {root} does not exist or is not a directory")
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
    return digest.hexdigest()
