"""The audit log is a hash chain: it verifies, and an edited or deleted record is named."""

from __future__ import annotations

import json

import git
import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner

from flywheel.chain import GENESIS
from flywheel.cli import app
from flywheel.project import Project
from flywheel.store import Store
from ui import audit_records, record_event, verify_audit
from ui.approvals.tables import AuditRecordRow

runner = CliRunner()


def _three(store: Store) -> None:
    for i in range(3):
        record_event(store, actor="alice", action="approve", subject=f"cand-{i}", detail={"i": i})


def test_each_record_carries_the_previous_hash(store: Store) -> None:
    _three(store)
    newest_first = audit_records(store)
    records = list(reversed(newest_first))
    assert records[0].prev_hash == GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert verify_audit(store).model_dump() == {
        "ok": True,
        "records": 3,
        "first_bad_id": None,
        "reason": None,
    }


def test_an_edited_record_is_found(store: Store) -> None:
    _three(store)
    with store.engine.begin() as conn:
        conn.execute(update(AuditRecordRow).where(AuditRecordRow.id == 2).values(actor="mallory"))
    check = verify_audit(store)
    assert (check.ok, check.first_bad_id) == (False, 2)
    assert "edited" in (check.reason or "")


def test_a_deleted_record_is_found(store: Store) -> None:
    _three(store)
    with store.engine.begin() as conn:
        conn.execute(delete(AuditRecordRow).where(AuditRecordRow.id == 2))
    check = verify_audit(store)
    assert (check.ok, check.first_bad_id) == (False, 3)


def test_a_rehashed_forgery_breaks_the_next_link(store: Store) -> None:
    """Recomputing the edited record's own hash is not enough: its successor no longer links."""
    from flywheel.chain import record_hash

    _three(store)
    first = next(reversed(audit_records(store)))
    forged = record_hash(
        id=first.id,
        at=first.at,
        actor="mallory",
        action=first.action,
        subject=first.subject,
        detail=first.detail,
        prev_hash=first.prev_hash,
    )
    with store.engine.begin() as conn:
        conn.execute(
            update(AuditRecordRow)
            .where(AuditRecordRow.id == 1)
            .values(actor="mallory", hash=forged)
        )
    check = verify_audit(store)
    assert (check.ok, check.first_bad_id) == (False, 2)


def test_cli_verify_exits_non_zero_and_names_the_first_bad_record(project: Project) -> None:
    with project.open_store() as store:
        _three(store)
    ok = runner.invoke(app, ["audit", "verify", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["records"] == 3

    with project.open_store() as store, store.engine.begin() as conn:
        conn.execute(update(AuditRecordRow).where(AuditRecordRow.id == 2).values(detail={"i": 99}))
    broken = runner.invoke(app, ["audit", "verify", "--json"])
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["first_bad_id"] == 2
    text = runner.invoke(app, ["audit", "verify"])
    assert text.exit_code == 1
    assert "record 2" in text.output


@pytest.mark.parametrize("detail", [{"note": "ünïcode ✓", "n": 1.5, "list": [1, "a"]}])
def test_details_round_trip_through_the_database(store: Store, detail: dict[str, object]) -> None:
    record_event(store, actor="bob", action="reject", subject="cand-9", detail=detail)
    assert verify_audit(store).ok
    assert audit_records(store)[0].detail == detail


def _rehash_all(store: Store, actor: str) -> None:
    """The forger's full rewrite: edit record 1, then recompute every hash and link after it."""
    from flywheel.chain import record_hash

    prev = GENESIS
    for record in reversed(audit_records(store)):
        values = {
            "id": record.id,
            "at": record.at,
            "actor": actor if record.id == 1 else record.actor,
            "action": record.action,
            "subject": record.subject,
            "detail": record.detail,
            "prev_hash": prev,
        }
        digest = record_hash(**values)  # type: ignore[arg-type]
        with store.engine.begin() as conn:
            conn.execute(
                update(AuditRecordRow)
                .where(AuditRecordRow.id == record.id)
                .values(actor=values["actor"], prev_hash=prev, hash=digest)
            )
        prev = digest


def _verify(project: Project) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify"])
    return result.exit_code, " ".join(result.output.split())


def test_deleting_the_last_record_is_found_by_its_anchor(project: Project) -> None:
    """Probe: truncating the chain left a consistent chain, and `audit verify` passed."""
    with project.open_store() as store:
        _three(store)
        with store.engine.begin() as conn:
            conn.execute(delete(AuditRecordRow).where(AuditRecordRow.id == 3))
        assert verify_audit(store).ok  # the chain alone cannot tell
    code, output = _verify(project)
    assert code == 1
    assert "record 3 was anchored but the chain ends at record 2" in output
    assert "truncated" in output


def test_recomputing_every_hash_is_found_by_the_anchor(project: Project) -> None:
    """Probe: rewriting record 1 and rehashing the whole chain passed `audit verify`."""
    with project.open_store() as store:
        _three(store)
        _rehash_all(store, "mallory")
        assert verify_audit(store).ok
    code, output = _verify(project)
    assert code == 1
    assert "record 3's hash differs from its anchored hash" in output


def test_an_edited_or_deleted_anchor_is_found(project: Project) -> None:
    from flywheel.chain import ANCHORS_FILE

    with project.open_store() as store:
        _three(store)
    assert _verify(project)[0] == 0
    anchors = project.data_dir / ANCHORS_FILE
    assert oct(anchors.stat().st_mode & 0o777) == "0o600"
    assert oct((project.data_dir / "audit.key").stat().st_mode & 0o777) == "0o600"
    saved = json.loads(anchors.read_text())
    with project.open_store() as store:
        _rehash_all(store, "mallory")
        head = audit_records(store)[0]
    forged = {**saved, "ui_audit_log": {**saved["ui_audit_log"], "hash": head.hash}}
    anchors.write_text(json.dumps(forged))  # the forger updates the anchor but has no key
    code, output = _verify(project)
    assert (code, "MAC does not match the key" in output) == (1, True)
    anchors.unlink()
    code, output = _verify(project)
    assert (code, "no anchor" in output) == (1, True)


def test_the_key_may_come_from_the_environment(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLYWHEEL_AUDIT_KEY", "operator-held-secret")
    with project.open_store() as store:
        _three(store)
    assert not (project.data_dir / "audit.key").exists()
    assert _verify(project)[0] == 0
    monkeypatch.setenv("FLYWHEEL_AUDIT_KEY", "a-guess")
    assert "MAC does not match" in _verify(project)[1]


def test_ship_commits_carry_the_audit_head_and_verify_checks_it(
    project: Project, config_repo: git.Repo
) -> None:
    """The second anchor, in git: every ship names the audit head it followed."""
    from tests.helpers.ui import gated
    from ui import Role, User, approve

    alice = User(name="alice", role=Role.approver)
    with project.open_store() as store:
        _three(store)
        gated(store, config_repo, "cand-9")
        approve(store, "cand-9", alice)
        third = audit_records(store)[-3]
        assert f"Flywheel-Audit-Head: {third.id} {third.hash}" in str(
            config_repo.heads.main.commit.message
        )
        (project.data_dir / "chain-anchors.json").unlink()  # the file anchor is gone ...
        with store.engine.begin() as conn:
            conn.execute(delete(AuditRecordRow).where(AuditRecordRow.id >= 3))
        check = verify_audit(store, repo=str(config_repo.working_tree_dir))
    assert not check.ok  # ... the trailer still shows the truncation
    assert "record 3 is named by a ship commit's Flywheel-Audit-Head" in (check.reason or "")


def test_an_admin_re_anchors_a_project_from_before_anchors(project: Project) -> None:
    from ui import Role, add_user, users_path

    add_user(users_path(project.data_dir), "root", Role.admin, "root-password")
    with project.open_store() as store:
        _three(store)
    (project.data_dir / "chain-anchors.json").unlink()
    assert _verify(project)[0] == 1
    anchored = runner.invoke(
        app, ["audit", "anchor", "--as", "root"], env={"FLYWHEEL_PASSWORD": "root-password"}
    )
    assert anchored.exit_code == 0, anchored.output
    assert _verify(project)[0] == 0
