"""How a candidate id becomes configurations to replay.

Through the core's candidate providers (`flywheel.candidates`, entry point group
``flywheel.candidate_providers``), which is how the optimizers' candidates are found without
replay importing them.
"""

from __future__ import annotations

from pathlib import Path

from flywheel.candidates import CandidateSpec, resolve_candidate_spec
from flywheel.errors import UserError
from flywheel.project import Project, load_project
from replay._models import CandidateRef, ConfigRef


def candidate_ref(spec: CandidateSpec) -> CandidateRef:
    """The replay view of a core `CandidateSpec`."""
    return CandidateRef(
        id=spec.id,
        config=ConfigRef(directory=spec.config_dir.resolve(), commit=spec.head_commit),
        baseline=ConfigRef(directory=spec.baseline_dir.resolve(), commit=spec.base_commit),
        cluster_id=spec.cluster_id,
    )


def resolve_candidate(candidate_id: str, *, project: Project | None = None) -> CandidateRef:
    """The candidate with this id, from the core's providers (of ``project``, default: the
    project of the current directory / ``FLYWHEEL_PROJECT``)."""
    spec = resolve_candidate_spec(project or load_project(), candidate_id)
    if spec is not None:
        return candidate_ref(spec)
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
