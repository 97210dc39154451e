"""The root-cause taxonomy and the severity scale, as data (DESIGN.md), extensible by config.

A team extends the taxonomy in ``triage.toml`` at the project root (``flywheel.toml`` rejects
sections it does not know)::

    [[root_causes]]
    name = "policy_gap"
    owner = "compliance"
    description = "The agent followed the policy, but the policy itself is wrong."
    evidence = ["complaints citing the policy", "answers grounded in the policy document"]

Added categories are valid for human labels, the LLM node and calibration; the offline
classifier proposes them only through the nearest-neighbour memory of human labels.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flywheel.errors import ConfigError, UserError
from flywheel.fixes import FixType

SeverityName = Literal["S1", "S2", "S3", "S4"]

TRIAGE_CONFIG_FILE = "triage.toml"


class RootCause(BaseModel):
    """One category of the taxonomy: who owns the fix and how it is recognised."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    owner: str = Field(min_length=1, max_length=40)
    description: str
    evidence: tuple[str, ...] = ()
    #: Whether the optimizer may attempt a configuration fix (prompt, routing, few-shot,
    #: tool descriptions); otherwise the cluster is handed to ``owner``.
    optimizer_fixable: bool = False
    fix_types: tuple[FixType, ...] = ("investigate",)
    #: For a fixable cause: the facts that show a configuration change can remove it (empty:
    #: every fact that points at the cause). A cluster whose traces mostly lack them goes to
    #: ``owner`` instead, e.g. a tool that rejects a call as unknown is not an argument's fault.
    config_evidence: tuple[str, ...] = ()
    #: One line a reviewer reads when the cluster is handed to ``owner`` (default: the
    #: description).
    handoff_reason: str = ""

    def reason_to_hand_off(self) -> str:
        return self.handoff_reason or self.description


class Severity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: SeverityName
    rank: int = Field(ge=1, le=4, description="1 is the most severe")
    definition: str


SEVERITIES: tuple[Severity, ...] = (
    Severity(
        name="S1",
        rank=1,
        definition="harmful: wrong money, safety or privacy, or blocks a core task for many users",
    ),
    Severity(name="S2", rank=2, definition="a core task fails"),
    Severity(name="S3", rank=3, definition="degraded but usable"),
    Severity(name="S4", rank=4, definition="cosmetic"),
)

BUILTIN_ROOT_CAUSES: tuple[RootCause, ...] = (
    RootCause(
        name="prompt_instruction",
        owner="prompt",
        description="The agent had what it needed but did not follow (or was not given) an "
        "instruction: omitted drafts, ignored formats, invented details, wrong citations.",
        evidence=(
            "requested artefact missing from the answer",
            "requested format ignored",
            "invented names or facts absent from the request and context",
            "citation of a document that does not support the answer",
        ),
        optimizer_fixable=True,
        fix_types=("prompt_edit", "few_shot"),
    ),
    RootCause(
        name="routing_decision",
        owner="routing",
        description="The wrong path was taken: answered directly when it had to search, asked "
        "to clarify when it should act, searched for chit-chat, wrong sub-agent.",
        evidence=(
            "route distribution unlike healthy traffic",
            "router fallback or low router confidence",
            "clarifying question on a self-contained request",
            "retrieval that matched nothing relevant",
        ),
        optimizer_fixable=True,
        fix_types=("routing_rule", "prompt_edit"),
    ),
    RootCause(
        name="retrieval_ranking",
        owner="retrieval",
        description="The right document exists but was not ranked high enough to be used.",
        evidence=(
            "searched with normal scores, answer grounded in a weaker document",
            "near-tied retrieval scores (hard negatives)",
            "low groundedness although retrieval ran",
        ),
        fix_types=("reranker", "reindex"),
        handoff_reason=(
            "retrieval ranking: the right document exists but ranks too low; a "
            "reranker or index change, not a prompt"
        ),
    ),
    RootCause(
        name="context_construction",
        owner="context",
        description="Retrieved material was dropped, truncated or mis-ordered before the model.",
        evidence=("context smaller than the candidates", "truncation markers", "token limit hit"),
        fix_types=("context_builder",),
        handoff_reason=(
            "context builder: retrieved material is dropped or truncated in code "
            "before the model sees it"
        ),
    ),
    RootCause(
        name="tool_arguments",
        owner="tools",
        description="The agent called the right tool with wrong or malformed arguments.",
        evidence=("tool validation errors naming an argument", "literal unresolved values"),
        optimizer_fixable=True,
        fix_types=("tool_description", "few_shot"),
        # A rejection about the arguments' shape; a tool the call names that does not exist,
        # is not allowed, or is down is not fixed by describing the tool better.
        config_evidence=("tool_argument_error", "tool_arguments_off_schema"),
        handoff_reason=(
            "tool calls rejected for reasons other than their arguments (a tool "
            "missing, not allowed or down)"
        ),
    ),
    RootCause(
        name="missing_capability",
        owner="product",
        description="Users ask for something the agent has no tool or permission to do.",
        evidence=(
            "refusals ('I can't do that')",
            "claims of an action no tool performed",
            "user comments that the agent cannot do basic things",
        ),
        fix_types=("new_tool",),
        handoff_reason=(
            "missing tool: users ask for something no tool or permission of the agent can do"
        ),
    ),
    RootCause(
        name="model_limitation",
        owner="model",
        description="The model misread correct inputs or tool output; no configuration explains "
        "it.",
        evidence=("correct context and route, wrong answer", "misread tool output"),
        fix_types=("model_upgrade", "investigate"),
        handoff_reason=(
            "model limit: the inputs were right and the answer wrong; no configuration explains it"
        ),
    ),
    RootCause(
        name="memory_multiturn",
        owner="memory",
        description="Earlier turns of the session were needed and not used.",
        evidence=("request refers back to earlier turns", "history present but ignored"),
        fix_types=("memory_store",),
        handoff_reason=(
            "session memory: earlier turns do not reach the model; the memory store needs a change"
        ),
    ),
    RootCause(
        name="data_freshness",
        owner="data",
        description="The knowledge source holds stale or superseded documents that get used.",
        evidence=(
            "cited document older than a retrieved newer version",
            "near-duplicate documents with different dates",
        ),
        fix_types=("reindex",),
        handoff_reason=(
            "stale data: the knowledge source serves superseded documents; it needs re-indexing"
        ),
    ),
    RootCause(
        name="latency_infra",
        owner="infra",
        description="Timeouts, outages, rate limits or slow dependencies.",
        evidence=("timeout errors", "latency outliers", "5xx / connection errors"),
        fix_types=("infrastructure",),
        handoff_reason="infrastructure: timeouts, outages or rate limits of a dependency",
    ),
    RootCause(
        name="evaluation_scorer",
        owner="eval",
        description="The answer is fine; the scorer or judge that flagged it is wrong.",
        evidence=(
            "judge scores disagree with each other or with the user",
            "flagged only by a judge, no user complaint",
        ),
        fix_types=("scorer_fix",),
        handoff_reason="scorer: the judge that flagged these traces is wrong, not the agent",
    ),
)


class TriageConfig(BaseModel):
    """``triage.toml``: taxonomy extensions and the agent's thresholds."""

    model_config = ConfigDict(extra="forbid")

    root_causes: list[RootCause] = Field(default_factory=list)
    #: Cosine similarity of evidence features above which a human-labelled cluster decides.
    neighbour_similarity: float = Field(default=0.92, ge=0, le=1)
    #: Confidence below which a record says it needs a human look.
    review_below: float = Field(default=0.5, ge=0, le=1)
    #: Most evidence items kept per record.
    max_evidence: int = Field(default=12, ge=1)

    @field_validator("root_causes")
    @classmethod
    def _unique(cls, value: list[RootCause]) -> list[RootCause]:
        names = [cause.name for cause in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"root cause defined twice: {', '.join(dupes)}")
        return value


class Taxonomy:
    """The root causes (built-in plus configured) and the severity scale."""

    def __init__(self, root_causes: Iterable[RootCause] = BUILTIN_ROOT_CAUSES) -> None:
        self.root_causes: dict[str, RootCause] = {}
        for cause in root_causes:
            self.root_causes[cause.name] = cause
        self.severities: dict[str, Severity] = {s.name: s for s in SEVERITIES}

    @classmethod
    def from_config(cls, config: TriageConfig | None = None) -> Taxonomy:
        """The built-in taxonomy extended (or overridden, by name) by ``config``."""
        causes = {cause.name: cause for cause in BUILTIN_ROOT_CAUSES}
        for cause in (config or TriageConfig()).root_causes:
            causes[cause.name] = cause
        return cls(causes.values())

    @property
    def names(self) -> list[str]:
        return list(self.root_causes)

    def get(self, name: str) -> RootCause:
        """The root cause called ``name``; an unknown name lists the valid ones."""
        cause = self.root_causes.get(name)
        if cause is None:
            raise UserError(
                f"unknown root cause '{name}'; valid root causes: {', '.join(self.names)} "
                f"(add one in {TRIAGE_CONFIG_FILE})"
            )
        return cause

    def severity(self, name: str) -> Severity:
        found = self.severities.get(name.upper())
        if found is None:
            raise UserError(f"unknown severity '{name}'; valid severities: S1, S2, S3, S4")
        return found


def load_triage_config(project_root: Path) -> TriageConfig:
    """``project_root/triage.toml`` if present, else the defaults."""
    path = project_root / TRIAGE_CONFIG_FILE
    if not path.is_file():
        return TriageConfig()
    try:
        return TriageConfig.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: key '{key}': {first['msg']}; fix it in {path.name}") from None
