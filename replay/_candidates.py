"""How a candidate id becomes configurations to replay (the optimizers register a resolver)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from flywheel.errors import UserError
from replay._models import CandidateRef, ConfigRef


@runtime_checkable
class CandidateResolver(Protocol):
    """Finds a candidate by id: its config directory (a worktree), its baseline, its cluster.

    Return None for an id this resolver does not know; raise `UserError` for a known candidate
    that cannot be replayed (its worktree is gone, say).
    """

    def resolve(self, candidate_id: str) -> CandidateRef | None: ...


_RESOLVERS: list[CandidateResolver] = []


def register_candidate_resolver(resolver: CandidateResolver) -> None:
    """Make candidates of another package (the optimizers' branches) resolvable by id."""
    if resolver not in _RESOLVERS:
        _RESOLVERS.append(resolver)


def resolve_candidate(candidate_id: str) -> CandidateRef:
    for resolver in _RESOLVERS:
        found = resolver.resolve(candidate_id)
        if found is not None:
            return found
    raise UserError(
        f"unknown candidate '{candidate_id}'; no registered resolver knows it. Replay a "
        "configuration directly with --config DIR --baseline-config DIR [--cluster ID]"
    )


def adhoc_candidate(
    config_dir: Path,
    baseline_dir: Path,
    *,
    cluster_id: str | None = None,
    candidate_id: str | None = None,
) -> CandidateRef:
    """A candidate that is just a directory (id: ``dir-<digest prefix>`` unless given)."""
    config = ConfigRef(directory=Path(config_dir).resolve())
    baseline = ConfigRef(directory=Path(baseline_dir).resolve())
    return CandidateRef(
        id=candidate_id or f"dir-{config.digest[:12]}",
        config=config,
        baseline=baseline,
        cluster_id=cluster_id,
    )
