"""The extension point of the nightly pipeline: a `Stage`, what it gets and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from flywheel.project import Project
from flywheel.store import Store


class NightlyOptions(BaseModel):
    """What a caller may change for one run, over ``[nightly]`` in `flywheel.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Start a fresh run even when the last one did not finish.
    new: bool = False
    #: Inbox folder instead of ``[nightly] inbox``.
    inbox: Path | None = None
    #: Stages instead of ``[nightly] stages``.
    stages: tuple[str, ...] | None = None
    #: Instead of ``[nightly] max_clusters``.
    max_clusters: int | None = Field(default=None, ge=0)
    #: Reviewers under whose names the queue stage approves passing candidates (the demo's
    #: automated approvers); empty: candidates wait for a human.
    auto_approve_as: tuple[str, ...] = ()
    #: Seconds to wait for another run (or an ingest) to release the pipeline lock.
    wait: float = Field(default=0.0, ge=0)


class StageResult(BaseModel):
    """What a stage did: a JSON-able summary for the report and counts of work done.

    ``counts`` say how much work the stage did this time (files read, cases run, candidates
    made): a run that found nothing new has only zeros.
    """

    model_config = ConfigDict(extra="forbid")

    summary: dict[str, Any] = Field(default_factory=dict)
    counts: dict[str, int] = Field(default_factory=dict)


@dataclass
class StageContext:
    """Everything a stage may use: the project, its store, the options, this run's past."""

    project: Project
    store: Store
    options: NightlyOptions
    run_id: int
    #: Summaries of this run's stages that finished before this one (also after a resume).
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Short progress messages (shown beside the stage's spinner).
    log: Callable[[str], None] = field(default=lambda _message: None)
    #: Show the stage's own progress bars (replay's harness) on stderr.
    progress: bool = False
    #: When this run began (its first attempt): what a stage made since is this run's work.
    run_started_at: datetime | None = None

    @property
    def inbox(self) -> Path:
        chosen = self.options.inbox or Path(self.project.settings.nightly.inbox)
        return chosen if chosen.is_absolute() else self.project.root / chosen

    @property
    def max_clusters(self) -> int:
        if self.options.max_clusters is not None:
            return self.options.max_clusters
        return self.project.settings.nightly.max_clusters


@runtime_checkable
class Stage(Protocol):
    """One step of the nightly run, found by ``name`` among the stages plugins register
    (hook ``register_stages``).

    ``run`` must be idempotent: after a crash the interrupted stage runs again from the
    start, so it skips what the store shows is done (replay's cache, ingested files). It
    raises on a failure that should stop the night (recorded as the stage's one-line
    reason; the next run resumes here) and records per-item failures as data instead.
    """

    name: str

    def run(self, context: StageContext) -> StageResult: ...
