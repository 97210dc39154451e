"""Re-gating a candidate whose base is no longer main's head, before anyone may approve it.

Main moved (another fix shipped, someone edited the config): the evidence the approver would
look at was measured against a configuration that no longer exists. `replay_regater` builds
the `Regate` that `ui.approve` and `ui.regate_candidate` call: it merges main's head into the
candidate's branch (a conflict raises `MergeConflict`: the candidate needs rework), replays
the baseline (main's head) and the updated candidate on the stored case sets through replay's
public API, stores the new gate decision, and returns the candidate with its new base, diff,
gate numbers and flipped cases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from flywheel.config import ReplayConfig
from flywheel.errors import UserError
from flywheel.project import Project
from flywheel.store import Store
from optimizers import open_workspace
from replay import (
    AgentAdapter,
    GateReport,
    ReplayStore,
    adapter_from_spec,
    adhoc_candidate,
    gate_candidate,
    suite_case_sets,
)
from ui.approvals._candidates import Candidate
from ui.approvals._git import branch_diff, checked_out, main_head, merge_main_into
from ui.approvals._import import flipped_cases, gate_summary

#: Who the merge commit on the candidate branch is attributed to.
REGATE_ACTOR = "flywheel-regate"


def _agent(settings: ReplayConfig) -> AgentAdapter:
    if not settings.agent:
        raise UserError(
            "main moved since this candidate was gated and re-gating it replays the agent: set "
            "replay.agent in flywheel.toml (or FLYWHEEL_REPLAY__AGENT), e.g. "
            "python:package.module:function"
        )
    return adapter_from_spec(settings.agent, concurrency=settings.harness.concurrency)


async def _gate(
    store: ReplayStore,
    settings: ReplayConfig,
    candidate: Candidate,
    baseline_dir: Path,
    config_dir: Path,
) -> GateReport:
    sets = suite_case_sets(store, candidate.cluster_id)  # before any replay: fails fast
    ref = adhoc_candidate(
        config_dir, baseline_dir, cluster_id=candidate.cluster_id, candidate_id=candidate.id
    )
    agent = _agent(settings)
    try:
        return await gate_candidate(
            ref,
            store=store,
            agent=agent,
            options=settings.harness,
            gate=settings.gate,
            case_sets=sets,
        )
    finally:
        await agent.aclose()


def regate_on_head(
    store: Store,
    candidate: Candidate,
    *,
    settings: ReplayConfig,
    config_subdir: str = "",
) -> Candidate:
    """Merge main's head into the candidate's branch, gate it again, return the new view.

    ``config_subdir`` is where the agent's configuration sits inside the repository ("" for
    its root). Raises `ui.MergeConflict` (nothing replayed) when the branch conflicts with
    main, `UserError` when no agent or case sets are configured (checked before git is touched).
    """
    replay = ReplayStore(store)
    _agent(settings)
    suite_case_sets(replay, candidate.cluster_id)
    head = main_head(candidate.repo, candidate.main_branch)
    tip = merge_main_into(
        candidate.repo,
        candidate.branch,
        main_sha=head,
        user=REGATE_ACTOR,
        message=(
            f"Merge {candidate.main_branch} ({head[:12]}) into {candidate.branch}\n\n"
            f"Re-gate of candidate {candidate.id}: its base {candidate.base_sha[:12]} is no "
            f"longer {candidate.main_branch}'s head.\n"
        ),
    )
    with checked_out(candidate.repo, head) as base_tree, checked_out(candidate.repo, tip) as tree:
        base_dir, config_dir = base_tree / config_subdir, tree / config_subdir
        report = asyncio.run(_gate(replay, settings, candidate, base_dir, config_dir))
    decision = replay.gate_decisions(candidate.id)[-1]
    return candidate.model_copy(
        update={
            "base_sha": head,
            "diff": branch_diff(candidate.repo, head, tip),
            "replay_run": f"gate-{decision['id']}",
            "gate": gate_summary(report),
            "flips": flipped_cases(
                replay,
                candidate.cluster_id,
                str(decision["baseline_digest"]),
                str(decision["candidate_digest"]),
            ),
        }
    )


def _config_subdir(project: Project, repo: str) -> str:
    """The configuration's folder inside ``repo`` when it is the project's workspace."""
    try:
        info = open_workspace(project).info
    except UserError:
        return ""
    same = Path(info.repo).resolve() == Path(repo).resolve()
    return info.config_dir if same else ""


def project_regate(project: Project, store: Store) -> Callable[[Candidate], Candidate]:
    """The `ui.approve` ``regate`` of a project: its replay settings and configuration folder."""

    def regate(candidate: Candidate) -> Candidate:
        return regate_on_head(
            store,
            candidate,
            settings=project.settings.replay,
            config_subdir=_config_subdir(project, candidate.repo),
        )

    return regate
