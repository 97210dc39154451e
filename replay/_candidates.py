"""How a candidate id becomes configurations to replay.

A candidate is the core's `flywheel.candidates.CandidateSpec` (the one candidate model): found
through the candidate providers plugins register (which is how the optimizers' candidates are
found without replay importing them), or made here from two directories. Replay reads its two
directories as `ConfigRef`s.
"""

from __future__ import annotations

from pathlib import Path

from flywheel.candidates import CandidateSpec, resolve_candidate_spec
from flywheel.errors import UserError
from flywheel.project import Project, load_project
from replay._models import ConfigRef


def config_ref(candidate: CandidateSpec) -> ConfigRef:
    """The candidate's configuration, at its head commit when it has one."""
    return ConfigRef(directory=candidate.config_dir.resolve(), commit=candidate.head_commit)


def baseline_ref(candidate: CandidateSpec) -> ConfigRef:
    """The configuration the candidate branched from."""
    return ConfigRef(directory=candidate.baseline_dir.resolve(), commit=candidate.base_commit)


def resolve_candidate(candidate_id: str, *, project: Project | None = None) -> CandidateSpec:
    """The candidate with this id, from the core's providers (of ``project``, default: the
    project of the current directory / ``FLYWHEEL_PROJECT``)."""
    spec = resolve_candidate_spec(project or load_project(), candidate_id)
    if spec is not None:
        return spec
    raise UserError(
        f"unknown candidate '{candidate_id}'; list them with `flywheel candidates`, or replay "
        "a configuration directly with --config DIR --baseline-config DIR [--cluster ID]"
    )


def adhoc_candidate(
    config_dir: Path,
    baseline_dir: Path,
    *,
    cluster_id: str | None = None,
    candidate_id: str | None = None,
) -> CandidateSpec:
    """A candidate that is just a directory (id: ``dir-<digest prefix>`` unless given)."""
    config = ConfigRef(directory=Path(config_dir).resolve())
    return CandidateSpec(
        id=candidate_id or f"dir-{config.digest[:12]}",
        cluster_id=cluster_id,
        config_dir=config.directory,
        baseline_dir=Path(baseline_dir).resolve(),
    )
