"""The approval domain called directly (`ui.approvals`), as the page and the CLI call it: real
SQLite, a real configuration repository in a temporary folder, no Streamlit."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from flywheel.chain import ChainAnchors
from flywheel.errors import UserError
from flywheel.project import Project
from flywheel.store import Store
from tests.helpers.ui import commit_files, gated, triaged
from triage import label_cluster
from ui.approvals import (
    ApprovalDesk,
    Forbidden,
    MergeConflict,
    Role,
    SignInGuard,
    User,
    add_user,
    anchor_chains,
    audit_records,
    exported_files,
    exports_dir,
    load_users,
    may_change_users,
    password_sign_in,
    record_event,
    regate_candidate,
    run_export,
    save_user,
    users_path,
    verify_audit,
)

ALICE = User(name="alice", role=Role.approver)
BOB = User(name="bob", role=Role.approver)
VIEWER = User(name="vera", role=Role.viewer)


def test_the_view_applies_the_clusters_current_severity_not_the_queued_one(
    project: Project, store: Store, config_repo: git.Repo
) -> None:
    triaged(store, severity="S2")
    gated(store, config_repo, "cand-1", severity="S2")
    label_cluster(store, "C-0001", root_cause="prompt_instruction", severity="S1", reviewer="rita")
    desk = ApprovalDesk(project, store)

    before = desk.decision_view("cand-1", ALICE)

    assert (before.severity, before.approvals_needed) == ("S1", 2)
    assert before.ships_on_approval is False  # the page's confirmation says "records"
    assert before.refused is None
    assert audit_records(store) == []  # a view records nothing

    first = desk.approve("cand-1", ALICE, "one of two")
    assert (first.status, first.approvals) == ("gated", ["alice"])
    assert desk.decision_view("cand-1", BOB).ships_on_approval is True
    again = desk.decision_view("cand-1", ALICE)
    assert again.refused is not None
    assert "alice already approved" in again.refused

    shipped = desk.approve("cand-1", BOB, "two of two")

    assert shipped.status == "shipped"
    assert config_repo.heads.main.commit.hexsha == shipped.merge_sha
    after = desk.decision_view("cand-1", BOB)
    assert after.approvals == ["alice", "bob"]
    assert after.ship is not None
    assert after.ship["merge_sha"] == shipped.merge_sha
    assert "the candidate is shipped" in (after.refused or "")


def test_the_view_says_why_a_viewer_or_the_author_may_not_approve(
    project: Project, store: Store, config_repo: git.Repo
) -> None:
    gated(store, config_repo, "cand-1", author="alice")
    desk = ApprovalDesk(project, store)

    assert "needs the approver role" in (desk.decision_view("cand-1", VIEWER).refused or "")
    assert "alice authored this candidate" in (desk.decision_view("cand-1", ALICE).refused or "")
    assert desk.decision_view("cand-1", BOB).refused is None


def test_reject_and_rollback_through_the_desk_change_main_and_the_audit_log(
    project: Project, store: Store, config_repo: git.Repo
) -> None:
    gated(store, config_repo, "cand-1")
    gated(store, config_repo, "cand-2")
    desk = ApprovalDesk(project, store)

    assert desk.reject("cand-2", ALICE, "not this way").status == "rejected"
    shipped = desk.approve("cand-1", ALICE)
    rolled = desk.rollback("cand-1", BOB, "broke billing")

    head = config_repo.heads.main.commit
    assert rolled.revert_sha == head.hexsha
    assert head.parents[0].hexsha == shipped.merge_sha
    assert (head.tree / "prompts/answer.md").data_stream.read() == b"Answer the question.\n"
    assert [r.action for r in audit_records(store)][:3] == ["rollback", "ship", "approve"]
    assert desk.queue.get("cand-2").status == "rejected"
    assert verify_audit(store).ok


def test_a_conflicting_regate_sends_the_candidate_back_and_the_view_says_why(
    project: Project, store: Store, config_repo: git.Repo
) -> None:
    gated(store, config_repo, "cand-1")
    commit_files(config_repo, {"prompts/answer.md": "Answer briefly.\n"}, "main moves on")

    def conflicts(_: object) -> object:
        raise MergeConflict("prompts/answer.md conflicts with main", ["prompts/answer.md"])

    with pytest.raises(MergeConflict):
        regate_candidate(store, "cand-1", ALICE, conflicts)  # type: ignore[arg-type]
    view = ApprovalDesk(project, store).decision_view("cand-1", ALICE)

    assert view.status == "needs_rework"
    assert view.rework_reason == "prompts/answer.md conflicts with main"


def test_wrong_passwords_lock_the_name_and_the_right_one_waits_too(tmp_path: Path) -> None:
    path = users_path(tmp_path)
    add_user(path, "alice", Role.approver, "correct horse")
    now = [0.0]
    guard = SignInGuard(limit=2, window=60, clock=lambda: now[0])

    assert password_sign_in(guard, path, "alice", "nope").user is None
    assert password_sign_in(guard, path, "alice", "nope again").user is None
    locked = password_sign_in(guard, path, "alice", "correct horse")

    assert locked.user is None
    assert locked.locked_for == pytest.approx(60)
    now[0] = 61.0
    signed_in = password_sign_in(guard, path, "alice", "correct horse")
    assert signed_in.user is not None
    assert signed_in.user.name == "alice"


def test_the_users_file_bootstraps_one_admin_then_only_an_admin_changes_it(
    tmp_path: Path, store: Store
) -> None:
    path = users_path(tmp_path)
    with pytest.raises(UserError, match="no admin yet"):
        may_change_users(path, "vera", Role.viewer, None)
    actor = may_change_users(path, "ada", Role.admin, None)
    assert save_user(path, store, "ada", Role.admin, "long enough", actor=actor) is False

    with pytest.raises(UserError, match="needs --as ADMIN"):
        may_change_users(path, "vera", Role.viewer, None)
    with pytest.raises(UserError, match="managing users needs an admin"):
        may_change_users(path, "vera", Role.viewer, ALICE)
    admin = User(name="ada", role=Role.admin)
    actor = may_change_users(path, "vera", Role.viewer, admin)
    save_user(path, store, "vera", Role.viewer, None, actor=actor)

    assert load_users(path).users["vera"].role is Role.viewer
    records = [(r.action, r.actor, r.subject, r.detail["bootstrap"]) for r in audit_records(store)]
    assert records == [("user.add", "ada", "vera", False), ("user.add", "ada", "ada", True)]


def test_only_an_admin_anchors_the_chains_and_the_anchor_then_holds(
    tmp_path: Path, store: Store
) -> None:
    record_event(store, actor="alice", action="approve", subject="cand-1")
    anchors = ChainAnchors(tmp_path)
    with pytest.raises(Forbidden, match="re-anchoring needs an admin"):
        anchor_chains(store, tmp_path, ALICE)

    heads = anchor_chains(store, tmp_path, User(name="ada", role=Role.admin))

    assert set(heads) == {"ui_audit_log"}
    assert verify_audit(store, anchors=anchors).ok
    assert audit_records(store)[0].action == "anchor"


def test_an_export_from_the_app_takes_the_run_lock_and_logs_its_reader(
    project: Project, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flywheel.datasets import holdout_reads
    from flywheel.store import LockHeld, run_lock
    from tests.helpers.world import load_traffic, ship_fix

    monkeypatch.setenv("FLYWHEEL_EXPORT__NEAR_DUPLICATE_THRESHOLD", "1.0")
    load_traffic(store, tmp_path)
    ship_fix(store)
    with pytest.raises(Forbidden, match="needs the approver role"):
        run_export(store, project, VIEWER, "sft")
    with (
        Store.open(project.database_url) as other,
        run_lock(other, command="flywheel nightly"),
        pytest.raises(LockHeld, match="flywheel nightly"),
    ):
        run_export(store, project, ALICE, "sft")
    assert exported_files(exports_dir(project)) == []

    report = run_export(store, project, ALICE, "sft")

    assert report.records > 0
    assert [str(f.path) for f in exported_files(exports_dir(project))] == [str(report.out)]
    assert [r.reader for r in holdout_reads(store)] == ["alice"]
