"""Candidates the optimizers proposed and the replay gate passed enter the approval queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import git

from flywheel.project import Project
from flywheel.trace import Trace
from optimizers import OptimizerStore, adopt_or_init_config_repo
from replay import Case, CaseResult, CaseSet, ConfigRef, GateReport, ReplayStore, Status, Suite
from ui import Role, StoreQueue, User, approve
from ui.approvals import decision_hook, import_gated


def _report(candidate_id: str, decision: str) -> dict[str, Any]:
    return GateReport.model_validate(
        {
            "candidate_id": candidate_id,
            "cluster_id": "C-0001",
            "decision": decision,
            "reasons": [] if decision == "pass" else ["target slice did not improve"],
            "target": {"cases": 20, "fixed": 8, "broken": 1, "p_value": 0.01, "p_value_holm": 0.02},
            "regression": {
                "cases": 50,
                "delta": -0.01,
                "ci_low": -0.03,
                "ci_high": 0.01,
                "margin": 0.03,
            },
            "blocking": {"cases": 10},
            "guardrails": {"latency_p95_ratio": 1.1, "latency_p95_ci": [1.0, 1.2]},
            "config": {},
        }
    ).model_dump(mode="json")


def _replayed(store: Any, config: Path) -> None:
    """A target slice of two cases replayed on the baseline and on candidate 1."""
    replay = ReplayStore(store)
    cases = (
        Case(case_id="case-a", inputs={"input": "where are the Q3 notes?"}, cluster_id="C-0001"),
        Case(case_id="case-b", inputs={"input": "who owns billing?"}, cluster_id="C-0001"),
    )
    replay.save_case_set(
        CaseSet(name="target", suite=Suite.validation, cluster_id="C-0001", cases=cases)
    )
    outcomes = {
        "base-digest": [(Status.failed, "from memory"), (Status.passed, "Dana")],
        "cand-digest-1": [(Status.passed, "found notes/q3.md"), (Status.passed, "Dana")],
    }
    for digest, results in outcomes.items():
        run = replay.start_run(
            label=digest,
            config=ConfigRef(directory=config),
            config_digest=digest,
            set_digest="set",
            repeats=1,
        )
        replay.write_results(
            run,
            [
                CaseResult(
                    config_digest=digest,
                    case_digest=case.digest,
                    case_id=case.case_id,
                    repeat=0,
                    status=status,
                    trace=Trace(trace_id=f"{digest}-{case.case_id}", input="q", output=output),
                )
                for case, (status, output) in zip(cases, results, strict=True)
            ],
        )


def test_passed_candidates_are_imported_with_their_gate_numbers_and_ship(
    project: Project, tmp_path: Path
) -> None:
    config = tmp_path / "agent-config"
    (config / "prompts").mkdir(parents=True)
    (config / "prompts" / "answer.md").write_text("Answer.\n", encoding="utf-8")
    workspace = adopt_or_init_config_repo(project, config)
    repo = git.Repo(workspace.info.repo)
    base = repo.commit(workspace.info.main).hexsha
    ids = []
    with project.open_store() as store:
        for n, decision in ((1, "pass"), (2, "fail")):
            branch = f"flywheel/C-0001/rules-{n}"
            repo.create_head(branch, base)
            tree = tmp_path / f"wt{n}"
            repo.git.worktree("add", str(tree), branch)
            (tree / "prompts" / "answer.md").write_text(f"Search first ({n}).\n", encoding="utf-8")
            work = git.Repo(tree)
            work.index.add(["prompts/answer.md"])
            actor = git.Actor("optimizer", "optimizer@example.invalid")
            head = work.index.commit("candidate", author=actor, committer=actor).hexsha
            candidate_id = OptimizerStore(store).add_candidate(
                {
                    "cluster_id": "C-0001",
                    "strategy": "rules",
                    "number": n,
                    "status": "proposed",
                    "branch": branch,
                    "worktree": str(tree),
                    "base_commit": base,
                    "head_commit": head,
                    "root_cause": "prompt_instruction",
                    "rationale": "answers without searching",
                }
            )
            ReplayStore(store).save_gate_decision(
                _report(str(candidate_id), decision),
                cluster_id="C-0001",
                p_value=0.01,
                baseline_digest="base-digest",
                candidate_digest=f"cand-digest-{n}",
            )
            ids.append(str(candidate_id))

        _replayed(store, config)
        assert import_gated(store, project) == [ids[0]]
        assert import_gated(store, project) == [ids[0]]  # idempotent
        queued = StoreQueue(store).get(ids[0])
        assert queued.gate.passed
        assert (queued.gate.target_fixed, queued.gate.target_p_value) == (8, 0.02)
        assert queued.gate.regression_ci is not None
        assert queued.gate.regression_ci.low == -0.03
        assert queued.gate.guardrails["latency_p95"].budget == 1.25
        assert "+Search first (1)." in queued.diff
        assert [
            (f.case_id, f.direction, f.baseline_output, f.candidate_output) for f in queued.flips
        ] == [("case-a", "fixed", "from memory", "found notes/q3.md")]
        outcome = approve(
            store,
            ids[0],
            User(name="alice", role=Role.approver),
            on_decided=decision_hook(project),
        )
        assert OptimizerStore(store).candidate(int(ids[0])).status == "shipped"
        assert StoreQueue(store).get(ids[0]).origin == f"optimizers:{ids[0]}"
    assert repo.commit(workspace.info.main).hexsha == outcome.merge_sha
