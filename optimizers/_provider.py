"""The optimizers' `CandidateProvider`: their branches as directories the gate can replay.

A candidate's configuration is its worktree (or, when the worktree is gone, an export of its
branch head); its baseline is main at the candidate's base commit, exported once with
``git archive`` under ``.flywheel/exports/<commit>`` and reused. Exports hold no ``.git``, and
replay keys its cache by content, so main's own checkout and an export of the same commit
share replayed results. Registered through the ``flywheel.candidate_providers`` entry point.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from flywheel.candidates import CandidateSpec
from flywheel.errors import UserError
from flywheel.private import private_dir
from flywheel.project import Project
from flywheel.store import Store
from optimizers._candidates import close_candidate
from optimizers._store import CandidateRecord, OptimizerStore
from optimizers._workspace import ConfigWorkspace, open_workspace

EXPORTS = "exports"


def export_commit(project: Project, workspace: ConfigWorkspace, commit: str) -> Path:
    """The configuration directory at ``commit``, materialised once (atomically) and cached."""
    target = project.data_dir / EXPORTS / commit
    if target.is_dir():
        return target
    subdir = workspace.info.config_dir
    treeish = f"{commit}:{subdir}" if subdir else commit
    buffer = io.BytesIO()
    with workspace.repo() as repo:
        try:
            repo.archive(buffer, treeish, format="tar")
        except Exception as exc:  # git's own error: an unknown commit, a missing folder
            raise UserError(
                f"cannot export configuration commit {commit[:12]} ({str(exc).strip()[:200]}); "
                "was the configuration repository rewritten?"
            ) from None
    private_dir(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}-", dir=target.parent))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r:") as archive:
        archive.extractall(staging, filter="data")
    try:
        os.replace(staging, target)
    except OSError:  # another process exported it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


class OptimizerCandidates:
    """`flywheel.candidates.CandidateProvider` for the optimizers' candidates (ids: "12")."""

    name = "optimizers"

    def pending(self, store: Store, project: Project) -> list[CandidateSpec]:
        """Proposed candidates (a branch, not rejected or shipped yet)."""
        records = [
            r
            for r in OptimizerStore(store).candidates(status="proposed")
            if r.branch and r.base_commit
        ]
        if not records:
            return []
        workspace = open_workspace(project)
        ostore = OptimizerStore(store)
        return [
            self._spec(project, workspace, ostore, record, str(record.base_commit))
            for record in records
        ]

    def resolve(self, project: Project, candidate_id: str) -> CandidateSpec | None:
        if not candidate_id.strip().isdigit():
            return None
        with project.open_store() as store:
            ostore = OptimizerStore(store)
            found = ostore.candidates()
            record = next((r for r in found if r.candidate_id == int(candidate_id)), None)
            if record is None:
                return None
            if not record.branch or not record.base_commit:
                raise UserError(
                    f"candidate {candidate_id} failed ({record.reason or 'no branch'}); there "
                    "is nothing to replay"
                )
            return self._spec(project, open_workspace(project), ostore, record, record.base_commit)

    def close(self, store: Store, project: Project, candidate_id: str, *, reason: str) -> None:
        """The gate failed it: worktree and branch go (the gate keeps its report)."""
        close_candidate(
            store, open_workspace(project), int(candidate_id), status="gate_failed", reason=reason
        )

    def _spec(
        self,
        project: Project,
        workspace: ConfigWorkspace,
        ostore: OptimizerStore,
        record: CandidateRecord,
        base_commit: str,
    ) -> CandidateSpec:
        config_dir = _config_dir(project, workspace, record)
        split = ostore.load_split(record.cluster_id)
        return CandidateSpec(
            id=str(record.candidate_id),
            cluster_id=record.cluster_id,
            config_dir=config_dir,
            baseline_dir=export_commit(project, workspace, base_commit),
            branch=record.branch,
            base_commit=base_commit,
            head_commit=record.head_commit,
            strategy=record.strategy,
            status=record.status,
            validation_trace_ids=tuple(split.validation_ids_for_replay()) if split else (),
            provider=self.name,
        )


def _config_dir(project: Project, workspace: ConfigWorkspace, record: CandidateRecord) -> Path:
    """The worktree's configuration folder, or an export of the branch head without one."""
    subdir = workspace.info.config_dir
    if record.worktree and Path(record.worktree).is_dir():
        return Path(record.worktree) / subdir if subdir else Path(record.worktree)
    if record.head_commit:
        return export_commit(project, workspace, record.head_commit)
    raise UserError(
        f"candidate {record.candidate_id}: its worktree {record.worktree} is gone and no head "
        "commit is recorded; reject it (`flywheel candidate reject`) and optimize again"
    )
