"""The candidate contract: how a proposed fix is found by id and handed to the gate.

Candidates are made by one package (the optimizers' git branches) and judged by another
(replay's gate); the two never import each other. They meet here: a plugin registers a
`CandidateProvider` through the hook ``register_candidate_providers`` (`flywheel.hookspecs`),
and it describes its candidates as `CandidateSpec`s, plain directories the gate can replay.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from flywheel import plugins

if TYPE_CHECKING:
    from flywheel.project import Project
    from flywheel.store import Store


class CandidateSpec(BaseModel):
    """A candidate fix as the gate sees it: two directories and where they came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Unique across providers (an optimizer candidate's id is its integer id as text).
    id: str = Field(min_length=1)
    cluster_id: str | None = None
    #: The candidate's configuration (a worktree of its branch).
    config_dir: Path
    #: The configuration it branched from (main at ``base_commit``, materialised).
    baseline_dir: Path
    branch: str | None = None
    base_commit: str | None = None
    head_commit: str | None = None
    strategy: str | None = None
    #: The provider's own status (``proposed`` while it waits for the gate and a human).
    status: str = "proposed"
    #: The cluster's frozen held-out traces the candidate was never shown (empty: unknown,
    #: the gate then builds its own held-out slice).
    validation_trace_ids: tuple[str, ...] = ()
    #: Name of the provider that made it.
    provider: str = ""


@runtime_checkable
class CandidateProvider(Protocol):
    """Where candidates of one kind come from.

    ``pending`` lists the candidates that are proposed and still open (not rejected, shipped
    or failed); which of them a gate already judged is the gate's knowledge, so callers pass
    those ids to `pending_candidates` as ``gated``. ``resolve`` returns None for an id the
    provider does not know and raises `UserError` for a known one that cannot be replayed
    (its worktree is gone, say). Neither may write anything but caches under the project's
    data folder.
    """

    name: str

    def pending(self, store: Store, project: Project) -> list[CandidateSpec]: ...

    def resolve(self, project: Project, candidate_id: str) -> CandidateSpec | None: ...

    def close(self, store: Store, project: Project, candidate_id: str, *, reason: str) -> None:
        """The gate did not pass the candidate: it stops being open (its cluster may then be
        optimized again with new evidence); the gate's report stays with the gate."""
        ...


def candidate_providers() -> list[CandidateProvider]:
    """Every registered provider, in plugin order."""
    return plugins.registered("register_candidate_providers", _build)


def _build(calls: list[plugins.Registered]) -> list[CandidateProvider]:
    for call in calls:
        if len(call.args) != 1 or not isinstance(call.args[0], CandidateProvider):
            raise plugins.PluginError(
                f"plugin '{call.plugin}' registered {call.args!r} as a candidate provider (it "
                "needs name, pending(store, project), resolve(project, id), "
                "close(store, project, id, reason=...))"
            )
    named = plugins.by_name("candidate provider", calls, lambda call: str(call.args[0].name))
    return [call.args[0] for call in named.values()]


def pending_candidates(
    store: Store, project: Project, *, gated: Collection[str] = ()
) -> list[CandidateSpec]:
    """Every provider's open candidates, minus the ids in ``gated``, in a stable order."""
    skip = set(gated)
    found: dict[str, CandidateSpec] = {}
    for provider in candidate_providers():
        for spec in provider.pending(store, project):
            if spec.id not in skip and spec.id not in found:
                found[spec.id] = spec
    return sorted(found.values(), key=_order)


def close_failed_candidate(
    store: Store, project: Project, spec: CandidateSpec, *, reason: str
) -> None:
    """Tell the candidate's provider that the gate did not pass it."""
    for provider in candidate_providers():
        if provider.name == spec.provider:
            provider.close(store, project, spec.id, reason=reason)
            return


def resolve_candidate_spec(project: Project, candidate_id: str) -> CandidateSpec | None:
    """The candidate with this id, from the first provider that knows it."""
    for provider in candidate_providers():
        spec = provider.resolve(project, candidate_id)
        if spec is not None:
            return spec
    return None


def _order(spec: CandidateSpec) -> tuple[int, int, str]:
    return (0, int(spec.id), "") if spec.id.isdigit() else (1, 0, spec.id)
