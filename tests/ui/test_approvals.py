"""Approving ships a merge commit with trailers; the rules hold; every decision is audited."""

from __future__ import annotations

import git
import pytest
from sqlalchemy import select

from flywheel.store import Store
from tests.helpers.ui import commit_files, gated, triaged
from triage import label_cluster
from ui import (
    Forbidden,
    Role,
    StaleCandidate,
    StoreQueue,
    User,
    approvals_of,
    approve,
    audit_records,
    reject,
    rollback,
    verify_audit,
)
from ui.approvals.tables import ShipRow

ALICE = User(name="alice", role=Role.approver)
BOB = User(name="bob", role=Role.approver)


def _trailers(commit: git.Commit) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in str(commit.message).splitlines():
        key, sep, value = line.partition(": ")
        if sep and key.startswith("Flywheel-"):
            found.setdefault(key, []).append(value)
    return found


def test_approval_merges_into_main_with_trailers_and_records_the_ship(
    store: Store, config_repo: git.Repo
) -> None:
    candidate = gated(store, config_repo, "cand-1")
    outcome = approve(store, "cand-1", ALICE, "looks right")

    merge = config_repo.heads.main.commit
    assert outcome.status == "shipped"
    assert outcome.merge_sha == merge.hexsha
    assert len(merge.parents) == 2
    assert merge.parents[0].hexsha == candidate.base_sha
    assert merge.parents[1].hexsha == config_repo.heads[candidate.branch].commit.hexsha
    assert _trailers(merge) == {
        "Flywheel-Cluster": ["C-0001"],
        "Flywheel-Replay-Run": ["replay-42"],
        "Flywheel-Severity": ["S2"],
        "Flywheel-Approver": ["alice"],
    }
    assert (
        "Search before answering" in (merge.tree / "prompts/answer.md").data_stream.read().decode()
    )
    assert StoreQueue(store).get("cand-1").status == "shipped"
    with store.engine.connect() as conn:
        ship = conn.execute(select(ShipRow)).one()
    assert (ship.merge_sha, ship.approvers) == (merge.hexsha, {"names": ["alice"]})
    actions = [(r.action, r.actor, r.subject) for r in audit_records(store)]
    assert actions[:2] == [("ship", "alice", "cand-1"), ("approve", "alice", "cand-1")]
    assert verify_audit(store).ok


def test_an_author_cannot_approve_their_own_candidate_and_the_attempt_is_audited(
    store: Store, config_repo: git.Repo
) -> None:
    gated(store, config_repo, "cand-1", author="alice")
    before = config_repo.heads.main.commit.hexsha
    with pytest.raises(Forbidden, match="alice authored this candidate"):
        approve(store, "cand-1", ALICE)
    assert config_repo.heads.main.commit.hexsha == before
    assert StoreQueue(store).get("cand-1").status == "gated"
    assert audit_records(store)[0].action == "approve.refused"
    approve(store, "cand-1", BOB)  # another approver may
    assert StoreQueue(store).get("cand-1").status == "shipped"


@pytest.mark.parametrize("role", [Role.viewer, Role.reviewer])
def test_only_approvers_decide(store: Store, config_repo: git.Repo, role: Role) -> None:
    gated(store, config_repo, "cand-1")
    carol = User(name="carol", role=role)
    with pytest.raises(Forbidden, match="needs the approver role"):
        approve(store, "cand-1", carol)
    with pytest.raises(Forbidden, match="needs the approver role"):
        reject(store, "cand-1", carol)
    assert StoreQueue(store).get("cand-1").status == "gated"


def test_an_s1_fix_needs_two_different_approvers(store: Store, config_repo: git.Repo) -> None:
    gated(store, config_repo, "cand-1", severity="S1")
    before = config_repo.heads.main.commit.hexsha
    first = approve(store, "cand-1", ALICE)
    assert (first.status, first.approvals, first.approvals_needed) == ("gated", ["alice"], 2)
    assert config_repo.heads.main.commit.hexsha == before
    with pytest.raises(Forbidden, match="already approved"):
        approve(store, "cand-1", ALICE)
    second = approve(store, "cand-1", BOB)
    assert second.status == "shipped"
    assert _trailers(config_repo.heads.main.commit)["Flywheel-Approver"] == ["alice", "bob"]


def test_a_candidate_gated_on_an_old_main_must_be_re_gated(
    store: Store, config_repo: git.Repo
) -> None:
    gated(store, config_repo, "cand-1")
    moved = commit_files(config_repo, {"routing.yaml": "search: always\n"}, "someone else's change")
    with pytest.raises(StaleCandidate, match="re-gate it"):
        approve(store, "cand-1", ALICE)
    assert config_repo.heads.main.commit.hexsha == moved
    assert StoreQueue(store).get("cand-1").status == "gated"


def test_reject_and_rollback_are_recorded(store: Store, config_repo: git.Repo) -> None:
    gated(store, config_repo, "cand-1")
    out = reject(store, "cand-1", ALICE, "regresses tone")
    assert out.status == "rejected"
    with pytest.raises(Forbidden, match="rejected, not waiting"):
        approve(store, "cand-1", BOB)

    gated(store, config_repo, "cand-2")
    shipped = approve(store, "cand-2", ALICE)
    undone = rollback(store, "cand-2", BOB, "users complained")
    head = config_repo.heads.main.commit
    assert undone.revert_sha == head.hexsha
    assert head.parents[0].hexsha == shipped.merge_sha
    assert (head.tree / "prompts/answer.md").data_stream.read() == b"Answer the question.\n"
    assert _trailers(head)["Flywheel-Rollback-Of"] == [shipped.merge_sha]
    assert StoreQueue(store).get("cand-2").status == "rolled_back"
    assert audit_records(store)[0].action == "rollback"
    assert verify_audit(store).ok


def test_merge_works_when_main_is_not_checked_out(store: Store, config_repo: git.Repo) -> None:
    gated(store, config_repo, "cand-1")
    config_repo.git.checkout("--detach")
    outcome = approve(store, "cand-1", ALICE)
    assert config_repo.heads.main.commit.hexsha == outcome.merge_sha
    assert not config_repo.git.worktree("list").count("flywheel-ship")


def test_a_cluster_relabelled_s1_after_queueing_needs_two_approvers(
    store: Store, config_repo: git.Repo
) -> None:
    """Probe: the candidate kept its queue-time S2, so one approval shipped an S1 fix."""
    triaged(store, severity="S2")
    gated(store, config_repo, "cand-1", severity="S2")
    label_cluster(store, "C-0001", root_cause="prompt_instruction", severity="S1", reviewer="rita")

    first = approve(store, "cand-1", ALICE, "fine by me")

    assert (first.status, first.approvals_needed) == ("gated", 2)
    assert StoreQueue(store).get("cand-1").severity == "S1"  # what the queue shows now
    assert config_repo.heads.main.commit.message == "initial config"
    second = approve(store, "cand-1", BOB)
    assert (second.status, second.approvals) == ("shipped", ["alice", "bob"])


def test_a_severity_change_re_opens_the_decision(store: Store, config_repo: git.Repo) -> None:
    """An approval given under S1 does not count once the cluster is S2 and back: each
    approver approved a fix of a severity that no longer holds."""
    triaged(store, severity="S1")
    gated(store, config_repo, "cand-1", severity="S1")
    assert approve(store, "cand-1", ALICE).approvals == ["alice"]
    label_cluster(store, "C-0001", root_cause="prompt_instruction", severity="S3", reviewer="rita")
    assert approvals_of(store, "cand-1") == []  # given under S1: no longer counts

    outcome = approve(store, "cand-1", BOB, "S3 now")

    assert (outcome.status, outcome.approvals) == ("shipped", ["bob"])
    reopened = [r for r in audit_records(store) if r.action == "reopen"]
    assert [(r.detail["voided"], r.detail["changed"]) for r in reopened] == [
        (["alice"], ["severity"])
    ]
    ship = config_repo.heads.main.commit
    assert _trailers(ship)["Flywheel-Severity"] == ["S3"]
    assert _trailers(ship)["Flywheel-Approver"] == ["bob"]


def test_an_owner_change_re_opens_the_decision(store: Store, config_repo: git.Repo) -> None:
    triaged(store, severity="S1")
    gated(store, config_repo, "cand-1", severity="S1")
    approve(store, "cand-1", ALICE)
    label_cluster(
        store, "C-0001", root_cause="routing_decision", severity="S1", reviewer="rita"
    )  # the taxonomy hands routing_decision to the routing owner

    outcome = approve(store, "cand-1", BOB)

    assert (outcome.status, outcome.approvals) == ("gated", ["bob"])
    assert approve(store, "cand-1", ALICE).status == "shipped"


def test_a_shipped_fix_keeps_its_approvers_when_the_cluster_is_relabelled_later(
    store: Store, config_repo: git.Repo
) -> None:
    triaged(store, severity="S2")
    gated(store, config_repo, "cand-1")
    approve(store, "cand-1", ALICE)
    label_cluster(store, "C-0001", root_cause="prompt_instruction", severity="S1", reviewer="rita")
    assert approvals_of(store, "cand-1") == ["alice"]


def test_a_severity_changed_and_changed_back_still_re_opens_the_decision(
    store: Store, config_repo: git.Repo
) -> None:
    """S1 -> S3 -> S1 between two approvals: alice approved before the change; the decision
    was re-opened by it even though the severity is S1 again."""
    triaged(store, severity="S1")
    gated(store, config_repo, "cand-1", severity="S1")
    approve(store, "cand-1", ALICE)
    for severity in ("S3", "S1"):
        label_cluster(
            store, "C-0001", root_cause="prompt_instruction", severity=severity, reviewer="rita"
        )
    assert approvals_of(store, "cand-1") == []

    outcome = approve(store, "cand-1", BOB)

    assert (outcome.status, outcome.approvals) == ("gated", ["bob"])
    reopen = next(r for r in audit_records(store) if r.action == "reopen")
    assert (reopen.detail["voided"], reopen.detail["changed"]) == (["alice"], ["severity"])
