"""A candidate gated on an older main is re-gated on main's head before it can be approved.

Real git (a configuration repository in a temp dir), real replay (the stored case sets, the
python adapter, the gate's statistics) and the real approval path.
"""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from flywheel.project import Project, load_project
from flywheel.store import Store
from replay import Case, CaseSet, Expectations, GateReport, ReplayStore, Suite
from replay._family import record_gate_decision
from tests.helpers.ui import commit_files
from ui import (
    Candidate,
    GateSummary,
    MergeConflict,
    Role,
    StaleCandidate,
    StoreQueue,
    User,
    approvals_of,
    approve,
    audit_records,
    project_regate,
    regate_candidate,
    register_candidate,
    verify_audit,
)
from ui.approvals import revisit_gate_revisions

ALICE = User(name="alice", role=Role.approver)
BOB = User(name="bob", role=Role.approver)
AGENT = "python:tests.ui.agents:config_echo"
#: The reference text that fixes each cluster's target slice (see tests/ui/agents.py).
FIXES = {"C-0001": "search before answering", "C-0002": "route: search"}


def _cases(store: Store) -> None:
    replay = ReplayStore(store)
    for cluster, reference in FIXES.items():
        cases = tuple(
            Case(
                case_id=f"{cluster}-{n}",
                inputs={"input": f"{cluster} request {n}"},
                cluster_id=cluster,
                expected=Expectations(reference=reference),
            )
            for n in range(12)
        )
        replay.save_case_set(
            CaseSet(
                name=f"target {cluster}", suite=Suite.validation, cluster_id=cluster, cases=cases
            )
        )
    others = tuple(Case(case_id=f"r{n}", inputs={"input": f"other {n}"}) for n in range(20))
    replay.save_case_set(CaseSet(name="regression", suite=Suite.regression, cases=others))
    replay.save_case_set(CaseSet(name="blocking", suite=Suite.blocking, cases=others[:4]))


@pytest.fixture
def regate_project(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("FLYWHEEL_REPLAY__AGENT", AGENT)
    loaded = load_project(project.root)
    assert loaded.settings.replay.agent == AGENT
    return loaded


def _candidate(
    store: Store,
    repo: git.Repo,
    candidate_id: str,
    cluster: str,
    files: dict[str, str],
    severity: str = "S2",
) -> Candidate:
    """A candidate branch off main's current head, queued as gated (on that head)."""
    base = repo.heads.main.commit
    branch = f"flywheel/{cluster}/rules-{candidate_id}"
    repo.create_head(branch, base).checkout()
    commit_files(repo, files, f"candidate {candidate_id}")
    repo.heads.main.checkout()
    candidate = Candidate(
        id=candidate_id,
        cluster_id=cluster,
        severity=severity,
        author="optimizer:rules",
        repo=str(repo.working_tree_dir),
        branch=branch,
        base_sha=str(base.hexsha),
        replay_run="replay-0",
        gate=GateSummary(passed=True, target_cases=12, target_fixed=12),
    )
    register_candidate(store, candidate)
    return candidate


def test_a_candidate_on_an_old_main_is_re_gated_on_the_new_head_then_shipped(
    regate_project: Project, config_repo: git.Repo
) -> None:
    with regate_project.open_store() as store:
        _cases(store)
        regate = project_regate(regate_project, store)
        _candidate(
            store, config_repo, "A", "C-0001", {"prompts/answer.md": "Search before answering.\n"}
        )
        b = _candidate(store, config_repo, "B", "C-0002", {"routing.yaml": "route: search\n"})
        shipped_a = approve(store, "A", ALICE, regate=regate)
        assert (shipped_a.status, shipped_a.regated_on) == ("shipped", None)  # A was current

        outcome = approve(store, "B", ALICE, "after A", regate=regate)

        head = config_repo.heads.main.commit
        assert outcome.status == "shipped"
        assert outcome.regated_on == shipped_a.merge_sha
        assert head.hexsha == outcome.merge_sha
        assert head.parents[0].hexsha == shipped_a.merge_sha
        # main now holds both fixes; B's branch had main merged in before the re-gate
        tree = {blob.path for blob in head.tree.traverse() if isinstance(blob, git.Blob)}
        assert {"prompts/answer.md", "routing.yaml"} <= tree
        assert config_repo.is_ancestor(
            config_repo.commit(shipped_a.merge_sha), config_repo.heads[b.branch].commit
        )
        queued = StoreQueue(store).get("B")
        assert queued.base_sha == shipped_a.merge_sha
        assert queued.gate.passed
        assert queued.gate.target_fixed == 12
        assert "+route: search" in queued.diff
        assert "answer.md" not in queued.diff
        decisions = ReplayStore(store).gate_decisions("B")
        assert [d["decision"] for d in decisions] == ["pass"]
        assert queued.replay_run == f"gate-{decisions[-1]['id']}"
        assert f"Flywheel-Replay-Run: {queued.replay_run}" in str(head.message)
        actions = [(r.action, r.subject) for r in audit_records(store)]
        assert actions[:3] == [("ship", "B"), ("approve", "B"), ("regate", "B")]
        assert verify_audit(store).ok


def test_a_fix_that_main_already_contains_fails_its_re_gate_and_is_not_approved(
    regate_project: Project, config_repo: git.Repo
) -> None:
    with regate_project.open_store() as store:
        _cases(store)
        regate = project_regate(regate_project, store)
        _candidate(
            store, config_repo, "A", "C-0001", {"prompts/answer.md": "Search before answering.\n"}
        )
        _candidate(
            store, config_repo, "A2", "C-0001", {"fewshot/x.yaml": "search before answering\n"}
        )
        approve(store, "A", ALICE, regate=regate)
        before = config_repo.heads.main.commit.hexsha

        with pytest.raises(StaleCandidate, match="does not pass its gate on main's head"):
            approve(store, "A2", ALICE, regate=regate)

        assert config_repo.heads.main.commit.hexsha == before
        queued = StoreQueue(store).get("A2")
        assert (queued.status, queued.base_sha, queued.gate.passed) == ("gated", before, False)
        assert ReplayStore(store).gate_decisions("A2")[-1]["decision"] == "fail"
        assert [r.action for r in audit_records(store)][:2] == ["approve.refused", "regate"]


def test_a_candidate_that_conflicts_with_the_new_main_needs_rework(
    regate_project: Project, config_repo: git.Repo
) -> None:
    with regate_project.open_store() as store:
        _cases(store)
        regate = project_regate(regate_project, store)
        _candidate(
            store, config_repo, "A", "C-0001", {"prompts/answer.md": "Search before answering.\n"}
        )
        c = _candidate(store, config_repo, "C", "C-0001", {"prompts/answer.md": "Look it up.\n"})
        branch_head = config_repo.heads[c.branch].commit.hexsha
        approve(store, "A", ALICE, regate=regate)

        with pytest.raises(MergeConflict, match=r"prompts/answer\.md"):
            regate_candidate(store, "C", ALICE, regate)

        assert config_repo.heads[c.branch].commit.hexsha == branch_head  # merge aborted
        assert StoreQueue(store).get("C").status == "needs_rework"
        record = audit_records(store)[0]
        assert (record.action, record.detail["files"]) == ("needs_rework", ["prompts/answer.md"])
        assert ReplayStore(store).gate_decisions("C") == []  # nothing replayed
        with pytest.raises(Exception, match="needs_rework, not waiting"):
            approve(store, "C", ALICE, regate=regate)


def test_re_gating_without_an_agent_says_how_to_configure_one(
    project: Project, config_repo: git.Repo, tmp_path: Path
) -> None:
    with project.open_store() as store:
        _cases(store)
        _candidate(
            store, config_repo, "A", "C-0001", {"prompts/answer.md": "Search before answering.\n"}
        )
        commit_files(config_repo, {"tools.yaml": "tools: []\n"}, "someone else's change")
        branch = config_repo.heads["flywheel/C-0001/rules-A"].commit.hexsha
        with pytest.raises(Exception, match=r"replay\.agent in flywheel\.toml"):
            approve(store, "A", ALICE, regate=project_regate(project, store))
        assert config_repo.heads["flywheel/C-0001/rules-A"].commit.hexsha == branch
        assert StoreQueue(store).get("A").status == "gated"


def test_the_cli_re_gates_before_approving_too(
    regate_project: Project, config_repo: git.Repo
) -> None:
    from typer.testing import CliRunner

    from flywheel.cli import app
    from flywheel.users import PASSWORD_ENV
    from ui import add_user, users_path

    add_user(users_path(regate_project.data_dir), "alice", Role.approver, "alice-password")
    with regate_project.open_store() as store:
        _cases(store)
        for cid, cluster, files in (
            ("A", "C-0001", {"prompts/answer.md": "Search before answering.\n"}),
            ("B", "C-0002", {"routing.yaml": "route: search\n"}),
            ("C", "C-0001", {"prompts/answer.md": "Look it up.\n"}),
        ):
            _candidate(store, config_repo, cid, cluster, files)
    runner = CliRunner(env={PASSWORD_ENV: "alice-password"})
    assert runner.invoke(app, ["approve", "A", "--as", "alice"]).exit_code == 0

    shipped = runner.invoke(app, ["approve", "B", "--as", "alice"])
    assert shipped.exit_code == 0, shipped.output
    assert "B: shipped (re-gated on main" in shipped.output
    conflict = runner.invoke(app, ["queue", "regate", "C", "--as", "alice"])
    assert conflict.exit_code == 1
    assert "conflicts with main" in conflict.output
    current = runner.invoke(app, ["queue", "regate", "B", "--as", "alice", "--json"])
    assert current.exit_code == 1  # shipped: no longer waiting
    assert "shipped, not waiting" in current.output
    with regate_project.open_store() as store:
        assert StoreQueue(store).get("C").status == "needs_rework"


def test_the_approval_page_re_gates_a_stale_candidate_and_sends_a_conflict_to_rework(
    regate_project: Project, config_repo: git.Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers.app import _assert_safe, _page, _plain

    monkeypatch.setenv("FLYWHEEL_PROJECT", str(regate_project.root))
    with regate_project.open_store() as store:
        _cases(store)
        for cid, cluster, files in (
            ("A", "C-0001", {"prompts/answer.md": "Search before answering.\n"}),
            ("B", "C-0002", {"routing.yaml": "route: search\n"}),
            ("C", "C-0001", {"prompts/answer.md": "Look it up.\n"}),
        ):
            _candidate(store, config_repo, cid, cluster, files)
        approve(store, "A", ALICE, regate=project_regate(regate_project, store))

    app = _page("approvals", Role.approver).run()
    app.selectbox(key="candidate_id").select("B").run()
    _assert_safe(app)
    assert any("main has moved" in _plain(w.value) for w in app.warning)
    app.button(key="regate").click().run()
    _assert_safe(app)
    assert any("B re-gated on main" in _plain(s.value) for s in app.success), app.error
    assert not any("main has moved" in _plain(w.value) for w in app.warning)
    app.button(key="FormSubmitter:decision-Approve").click().run()
    app.button(key="confirm_approve").click().run()
    assert any("B shipped: merge commit" in _plain(s.value) for s in app.success), app.error

    app.selectbox(key="candidate_id").select("C").run()
    app.button(key="FormSubmitter:decision-Approve").click().run()
    assert any("main has moved" in _plain(w.value) for w in app.warning)
    app.button(key="confirm_approve").click().run()
    _assert_safe(app)
    assert any("conflicts with main" in _plain(e.value) for e in app.error)
    with regate_project.open_store() as store:
        assert StoreQueue(store).get("B").status == "shipped"
        assert StoreQueue(store).get("C").status == "needs_rework"
    app.radio(key="queue_status").set_value("needs_rework").run()
    assert any("Needs rework" in _plain(w.value) for w in app.warning)


def test_approvals_given_before_a_re_gate_no_longer_count(
    regate_project: Project, config_repo: git.Repo
) -> None:
    """Probe: alice approved an S1 fix, main moved, bob's approval re-gated it and shipped it
    on alice's approval of evidence that no longer exists."""
    with regate_project.open_store() as store:
        _cases(store)
        regate = project_regate(regate_project, store)
        _candidate(
            store, config_repo, "A", "C-0001", {"prompts/answer.md": "Search before answering.\n"}
        )
        _candidate(store, config_repo, "B", "C-0002", {"routing.yaml": "route: search\n"}, "S1")
        assert approve(store, "B", ALICE, regate=regate).approvals == ["alice"]
        approve(store, "A", ALICE, regate=regate)  # main moves

        after = approve(store, "B", BOB, regate=regate)

        assert after.regated_on is not None
        assert (after.status, after.approvals, after.approvals_needed) == ("gated", ["bob"], 2)
        reopen = next(r for r in audit_records(store) if r.action == "reopen")
        assert reopen.detail["voided"] == ["alice"]
        assert set(reopen.detail["changed"]) == {"base_sha", "replay_run"}
        shipped = approve(store, "B", ALICE, "again, on the new main", regate=regate)
        assert (shipped.status, shipped.approvals) == ("shipped", ["bob", "alice"])


def _rival_joins_the_family(store: Store, candidate_id: str, family_size: int) -> None:
    """Another candidate of the same cluster gated on the same slice, with a declared family
    so large that Holm no longer passes ``candidate_id`` (replay's real revision path)."""
    replay = ReplayStore(store)
    stored = replay.gate_decisions(candidate_id)[-1]
    report = GateReport.model_validate(stored["report"]).model_copy(
        update={"candidate_id": f"{candidate_id}-rival", "revised": None}
    )
    record_gate_decision(
        replay,
        report,
        baseline_digest=str(stored["baseline_digest"]),
        candidate_digest=str(stored["candidate_digest"]),
        family_size=family_size,
    )


def _stale(store: Store, repo: git.Repo, candidate_id: str, severity: str) -> None:
    _candidate(
        store,
        repo,
        candidate_id,
        "C-0001",
        {"prompts/answer.md": "Search before answering.\n"},
        severity,
    )
    commit_files(repo, {"tools.yaml": "tools: []\n"}, "someone else's change")


def test_a_holm_revision_that_fails_a_queued_candidate_sends_it_back_to_the_queue(
    regate_project: Project, config_repo: git.Repo
) -> None:
    """Probe: the revision was only recorded; the queue kept showing a pass and counting the
    approvals given on it."""
    with regate_project.open_store() as store:
        _cases(store)
        regate = project_regate(regate_project, store)
        _stale(store, config_repo, "A", "S1")
        assert approve(store, "A", ALICE, regate=regate).approvals == ["alice"]
        _rival_joins_the_family(store, "A", family_size=1000)
        assert ReplayStore(store).gate_decisions("A")[-1]["decision"] != "pass"

        with pytest.raises(StaleCandidate, match="does not pass its gate"):
            approve(store, "A", BOB, regate=regate)

        queued = StoreQueue(store).get("A")
        assert (queued.status, queued.gate.passed) == ("gated", False)
        assert any("Holm revision" in reason for reason in queued.gate.reasons)  # type: ignore[attr-defined]
        assert approvals_of(store, "A") == []
        assert [r.action for r in audit_records(store)][:2] == ["approve.refused", "gate_revised"]
        assert config_repo.heads.main.commit.message == "someone else's change"


def test_a_shipped_fix_whose_gate_a_holm_revision_flips_gets_a_rollback_proposal(
    regate_project: Project, config_repo: git.Repo
) -> None:
    with regate_project.open_store() as store:
        _cases(store)
        _stale(store, config_repo, "A", "S2")
        assert approve(store, "A", ALICE, regate=project_regate(regate_project, store)).status == (
            "shipped"
        )
        _rival_joins_the_family(store, "A", family_size=1000)

        found = revisit_gate_revisions(store)

        assert [(f.candidate_id, f.status, f.passed, f.rollback_proposed) for f in found] == [
            ("A", "shipped", False, True)
        ]
        proposal = audit_records(store)[0]
        assert (proposal.action, proposal.subject) == ("rollback.proposed", "A")
        assert "flywheel rollback A" in proposal.detail["reason"]
        assert revisit_gate_revisions(store) == []  # proposed once
        assert StoreQueue(store).get("A").status == "shipped"  # a person decides the rollback
        assert verify_audit(store).ok
