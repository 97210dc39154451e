"""What a strategy receives (`OptimizationTask`) and what it returns (`Proposal`).

A task carries only the *optimisation* part of a cluster's failing traces: it is built by
`optimizers._split.build_task`, which drops the frozen validation part and refuses a trace the
split sealed for validation, and the worker checks the task against the split again before a
strategy sees it. Strategies never get a store handle, so they cannot reach the validation
part another way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flywheel.fixes import CONFIG_FIX_TYPES
from flywheel.trace import Trace

#: Kinds of configuration fix a strategy may propose (the core's vocabulary).
FIX_TYPES: tuple[str, ...] = CONFIG_FIX_TYPES


class ConfigChange(BaseModel):
    """One commit of the configuration repository's main branch (for the revert strategy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commit: str
    committed_at: datetime
    message: str = ""
    #: path (relative to the configuration directory) -> (text before, text after).
    files: dict[str, tuple[str, str]] = Field(default_factory=dict)


class OptimizationTask(BaseModel):
    """One fixable cluster, its triage and the evidence a strategy may look at."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster_id: str = Field(min_length=1)
    label: str = ""
    keywords: list[str] = Field(default_factory=list)
    root_cause: str
    fix_type: str
    #: The optimisation split of the cluster's failing traces (never the validation part).
    failing: list[Trace]
    #: Healthy traces with requests similar to the failing ones.
    neighbours: list[Trace] = Field(default_factory=list)
    #: The configuration at ``base_commit``: path relative to the config directory -> text.
    config_files: dict[str, str]
    base_commit: str = ""
    first_seen: datetime | None = None
    #: Recent commits of the configuration's main branch, newest first.
    recent_changes: list[ConfigChange] = Field(default_factory=list)

    @field_validator("fix_type")
    @classmethod
    def _known_fix(cls, value: str) -> str:
        if value not in FIX_TYPES:
            raise ValueError(f"unknown fix type {value!r}; valid: {', '.join(FIX_TYPES)}")
        return value

    @property
    def trace_ids(self) -> list[str]:
        return [trace.trace_id for trace in self.failing]


class Proposal(BaseModel):
    """A candidate change: new texts of some configuration files, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: path relative to the configuration directory -> complete new text of the file.
    edits: dict[str, str]
    rationale: str = Field(min_length=1)
    cost_usd: float = Field(default=0.0, ge=0)
    detail: dict[str, Any] = Field(default_factory=dict)
