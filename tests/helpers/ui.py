"""The app's tests: a configuration repository with candidate branches, gated candidates and
triaged clusters."""

from __future__ import annotations

from pathlib import Path

import git

from flywheel.store import Store
from ui import Candidate, FlippedCase, GateSummary, Guardrail, Interval, register_candidate

XSS = '<script>alert("xss")</script> [x](javascript:alert(1)) ![img](http://evil.invalid/i.png)'


def commit_files(repo: git.Repo, files: dict[str, str], message: str) -> str:
    root = Path(repo.working_tree_dir or ".")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    repo.index.add(list(files))
    author = git.Actor("Test", "test@example.invalid")
    return str(repo.index.commit(message, author=author, committer=author).hexsha)


def candidate_branch(repo: git.Repo, name: str, text: str) -> str:
    """A candidate branch off main with an edited prompt (main stays checked out)."""
    base = repo.heads.main.commit
    branch = repo.create_head(name, base)
    branch.checkout()
    commit_files(repo, {"prompts/answer.md": text}, f"candidate {name}")
    repo.heads.main.checkout()
    return str(base.hexsha)


def gated(
    store: Store,
    repo: git.Repo,
    candidate_id: str,
    *,
    severity: str = "S2",
    author: str = "optimizer",
    priority: float = 0.5,
) -> Candidate:
    branch = f"flywheel/C-0001/rules-{candidate_id}"
    base = candidate_branch(repo, branch, f"Search before answering ({candidate_id}).\n")
    candidate = Candidate(
        id=candidate_id,
        cluster_id="C-0001",
        cluster_label="answers from memory instead of searching",
        severity=severity,
        priority=priority,
        author=author,
        strategy="rules",
        repo=str(repo.working_tree_dir),
        branch=branch,
        base_sha=base,
        diff="--- a/prompts/answer.md\n+++ b/prompts/answer.md\n-Answer.\n+Search first.\n",
        rationale="The agent answered from memory in 14 of 20 traces.",
        replay_run="replay-42",
        gate=GateSummary(
            passed=True,
            target_cases=20,
            target_fixed=9,
            target_broken=1,
            target_p_value=0.011,
            target_alpha=0.05,
            regression_delta=-0.01,
            regression_ci=Interval(low=-0.04, high=0.02),
            regression_margin=0.05,
            blocking_cases=10,
            guardrails={"p95_latency": Guardrail(ratio=1.1, budget=1.25, ok=True)},
        ),
        flips=[
            FlippedCase(
                case_id="case-1",
                direction="fixed",
                input="Where are the Q3 notes?",
                baseline_output="I think they are in the drive.",
                candidate_output=f"Found them: notes/q3.md {XSS}",
            )
        ],
    )
    register_candidate(store, candidate)
    return candidate


def triaged(
    store: Store,
    cluster_id: str = "C-0001",
    *,
    severity: str = "S2",
    root_cause: str = "prompt_instruction",
    component: str = "prompt",
) -> int:
    """A cluster with one triage record (the agent's view); the record's id."""
    from sqlalchemy import insert, select

    from flywheel.store._tables import ClusterRow, ClusterRunRow
    from triage._tables import TriageRecordRow

    with store.engine.begin() as conn:
        run_id = conn.execute(select(ClusterRunRow.id).limit(1)).scalar()
        if run_id is None:
            run_id = conn.execute(
                insert(ClusterRunRow).values(kind="full", model="test", message="test")
            ).inserted_primary_key[0]  # type: ignore[index]
        if conn.execute(select(ClusterRow.id).where(ClusterRow.id == cluster_id)).first() is None:
            conn.execute(
                insert(ClusterRow).values(
                    id=cluster_id,
                    label="answers from memory",
                    centroid=b"\0" * 16,
                    created_run_id=run_id,
                    last_run_id=run_id,
                )
            )
        result = conn.execute(
            insert(TriageRecordRow).values(
                cluster_id=cluster_id,
                cluster_run_id=run_id,
                root_cause=root_cause,
                component=component,
                severity=severity,
                priority=0.5,
                fixable=True,
                confidence=0.9,
                fix_type="prompt_edit",
                source="offline",
                rationale="test",
                evidence={"items": []},
                detail={"vector": [0.1, 0.2, 0.3]},
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]
