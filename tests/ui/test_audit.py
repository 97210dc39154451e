"""The audit log is a hash chain: it verifies, and an edited or deleted record is named."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner

from flywheel.chain import GENESIS
from flywheel.cli import app
from flywheel.project import Project
from flywheel.store import Store
from ui import audit_records, record_event, verify_audit
from ui._tables import AuditRecordRow

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
