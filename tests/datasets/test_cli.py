"""`flywheel datasets ...` and `flywheel export ...` as a user runs them, checked in the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.datasets import Role, current_version, holdout_reads, list_cases
from flywheel.project import Project
from tests.helpers.world import load_traffic, ship_fix

runner = CliRunner()


@pytest.fixture(autouse=True)
def _people(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """bob and eve, who sign in with the password FLYWHEEL_PASSWORD holds."""
    from flywheel.users import Role as UserRole
    from flywheel.users import add_user, users_path

    for name in ("bob", "eve"):
        add_user(users_path(project.data_dir), name, UserRole.reviewer, "shared-test-password")
    monkeypatch.setenv("FLYWHEEL_PASSWORD", "shared-test-password")


def _run(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_add_promote_demote_and_verify(project: Project, tmp_path: Path) -> None:
    with project.open_store() as store:
        load_traffic(store, tmp_path)
    added = _run("datasets", "add", "fail-1", "--role", "backlog", "--actor", "bob")
    case_id = str(added["case_id"])
    promoted = _run("datasets", "promote", case_id, "--to", "regression", "--actor", "bob")
    assert promoted["role"] == "regression"
    refused = runner.invoke(app, ["datasets", "promote", case_id, "--to", "blocking"])
    assert refused.exit_code == 1
    assert "sign-off" in refused.output
    wrong_way = runner.invoke(app, ["datasets", "demote", case_id, "--to", "blocking"])
    assert wrong_way.exit_code == 1
    assert "flywheel datasets promote" in wrong_way.output
    _run("datasets", "demote", case_id, "--to", "monitoring", "--actor", "bob")
    with project.open_store() as store:
        [case] = list_cases(store)
        assert case.role is Role.monitoring
        version = current_version(store, Role.regression)
        assert version is not None
        assert (version.version, version.size) == (2, 0)
    report = _run("datasets", "verify")
    assert report["ok"] is True
    assert report["versions"] == {"backlog": 2, "monitoring": 1, "regression": 2}


def test_holdout_reads_from_the_cli_are_checked_and_logged(
    project: Project, tmp_path: Path
) -> None:
    with project.open_store() as store:
        load_traffic(store, tmp_path)
    _run("datasets", "add", "fail-2", "--role", "holdout", "--actor", "eve")
    denied = runner.invoke(app, ["datasets", "holdout", "--purpose", "tuning", "--actor", "eve"])
    assert denied.exit_code == 1
    assert "may not read the frozen holdout" in denied.output
    cases = runner.invoke(app, ["datasets", "holdout", "--purpose", "audit", "--json"])
    assert cases.exit_code == 0, cases.output
    assert len(json.loads(cases.stdout)) == 1
    with project.open_store() as store:
        assert [(r.purpose, r.allowed) for r in holdout_reads(store)] == [
            ("audit", True),
            ("tuning", False),
        ]


def test_export_from_the_cli(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # exact duplicates only: the embedding path is covered by tests/export (marked slow)
    monkeypatch.setenv("FLYWHEEL_EXPORT__NEAR_DUPLICATE_THRESHOLD", "1.0")
    out = tmp_path / "exports" / "pairs.jsonl"
    empty = runner.invoke(app, ["export", "preference", "--out", str(out)])
    assert empty.exit_code == 1
    assert "nothing to export as preference" in empty.output
    assert len(empty.output.strip().splitlines()) == 1
    assert not out.exists()
    with project.open_store() as store:
        load_traffic(store, tmp_path)
        ship_fix(store)
    report = _run("export", "preference", "--out", str(out))
    assert report["records"] == 4
    assert out.is_file()
    assert Path(str(report["card"])).is_file()
    bad = runner.invoke(app, ["export", "sft", "--out", str(out), "--since", "last week"])
    assert bad.exit_code == 1
    assert "--since must be a date" in bad.output


def test_a_signoff_names_a_known_user_who_signs_in(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe: `--signoff NAME` accepted any name in the owners list, from anyone's shell."""
    from flywheel.users import Role as UserRole
    from flywheel.users import add_user, users_path

    monkeypatch.setenv("FLYWHEEL_DATASETS__OWNERS", '["olivia", "ghost"]')
    add_user(users_path(project.data_dir), "olivia", UserRole.reviewer, "olivia-password")
    with project.open_store() as store:
        load_traffic(store, tmp_path)
    case_id = str(
        _run("datasets", "add", "fail-1", "--role", "regression", "--actor", "bob")["case_id"]
    )
    args = ["datasets", "promote", case_id, "--to", "blocking", "--reason", "S1 money"]

    ghost = runner.invoke(app, [*args, "--signoff", "ghost"], env={"FLYWHEEL_PASSWORD": "x"})
    assert ghost.exit_code == 1
    assert "no user 'ghost'" in ghost.output
    bare = runner.invoke(app, [*args, "--signoff", "olivia"], env={"FLYWHEEL_PASSWORD": ""})
    assert bare.exit_code == 1
    assert "needs olivia's password" in bare.output
    forged = runner.invoke(app, [*args, "--signoff", "olivia"], env={"FLYWHEEL_PASSWORD": "guess"})
    assert forged.exit_code == 1
    assert "wrong password for olivia" in forged.output
    with project.open_store() as store:
        assert current_version(store, Role.blocking) is None

    signed = runner.invoke(
        app, [*args, "--signoff", "olivia"], env={"FLYWHEEL_PASSWORD": "olivia-password"}
    )
    assert signed.exit_code == 0, signed.output
    assert _run("datasets", "verify")["ok"] is True


def test_an_actor_is_a_known_user_who_signs_in(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe: `--actor NAME` (or FLYWHEEL_ACTOR) recorded any name as the author of a change,
    so one shell user could write the audit trail in another person's name."""
    with project.open_store() as store:
        load_traffic(store, tmp_path)
    add = ["datasets", "add", "fail-1", "--role", "backlog", "--json"]
    ghost = runner.invoke(app, [*add, "--actor", "ghost"])
    assert ghost.exit_code == 1
    assert "no user 'ghost'" in ghost.output
    monkeypatch.delenv("FLYWHEEL_PASSWORD")
    bare = runner.invoke(app, [*add, "--actor", "bob"])
    assert bare.exit_code == 1
    assert "needs bob's password" in bare.output
    by_env = runner.invoke(app, add, env={"FLYWHEEL_ACTOR": "bob"})
    assert by_env.exit_code == 1
    assert "needs bob's password" in by_env.output
    wrong = runner.invoke(app, [*add, "--actor", "bob", "--password-stdin"], input="guess\n")
    assert wrong.exit_code == 1
    assert "wrong password for bob" in wrong.output
    with project.open_store() as store:
        assert list_cases(store) == []

    signed = runner.invoke(
        app, [*add, "--actor", "bob", "--password-stdin"], input="shared-test-password\n"
    )
    assert signed.exit_code == 0, signed.output
    # without --actor: the OS account, marked as such, whatever $USER claims
    monkeypatch.setenv("USER", "eve")
    monkeypatch.setenv("LOGNAME", "eve")
    anonymous = runner.invoke(app, ["datasets", "add", "fail-2", "--role", "backlog", "--json"])
    assert anonymous.exit_code == 0, anonymous.output
    with project.open_store() as store:
        assert sorted(c.added_by for c in list_cases(store)) == ["bob", "os:eve"]


def test_datasets_verify_finds_a_truncated_or_rehashed_chain_by_its_anchor(
    project: Project, tmp_path: Path
) -> None:
    """Deleting the last entry and the reference to it leaves a consistent chain; the anchor
    in the project's data folder still remembers the entry."""
    from sqlalchemy import delete, update

    from flywheel.datasets._tables import DatasetAuditRow, EvalSetVersionRow

    with project.open_store() as store:
        load_traffic(store, tmp_path)
    _run("datasets", "add", "fail-2", "--role", "holdout", "--actor", "eve")
    _run("datasets", "add", "fail-3", "--role", "holdout", "--actor", "eve")
    assert _run("datasets", "verify")["ok"] is True
    with project.open_store() as store, store.engine.begin() as conn:
        last = conn.execute(
            DatasetAuditRow.__table__.select().order_by(DatasetAuditRow.id.desc())
        ).first()
        assert last is not None
        conn.execute(delete(DatasetAuditRow).where(DatasetAuditRow.id == last.id))
        conn.execute(update(EvalSetVersionRow).values(signoff_id=None))
    result = runner.invoke(app, ["datasets", "verify", "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert any("truncated" in p for p in problems), problems


@pytest.fixture
def shipped(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Traffic and a shipped fix, so that an export has something to write."""
    monkeypatch.setenv("FLYWHEEL_EXPORT__NEAR_DUPLICATE_THRESHOLD", "1.0")
    with project.open_store() as store:
        load_traffic(store, tmp_path)
        ship_fix(store)


@pytest.mark.usefixtures("shipped")
def test_export_signs_in_its_actor_and_logs_the_holdout_read_under_their_name(
    project: Project, tmp_path: Path
) -> None:
    """Probe: every export's holdout read was logged as 'export', whoever ran it."""
    out = tmp_path / "sft.jsonl"
    nobody = runner.invoke(app, ["export", "sft", "--out", str(out), "--actor", "made-up"])
    assert nobody.exit_code == 1
    assert "no user 'made-up'" in nobody.output
    wrong = runner.invoke(
        app,
        ["export", "sft", "--out", str(out), "--actor", "bob"],
        env={"FLYWHEEL_PASSWORD": "nope"},
    )
    assert wrong.exit_code == 1
    assert "wrong password for bob" in wrong.output
    assert not out.exists()
    with project.open_store() as store:
        assert holdout_reads(store) == []  # a refused actor read nothing

    _run("export", "sft", "--out", str(out), "--actor", "bob")
    _run("export", "sft", "--out", str(tmp_path / "again.jsonl"))

    with project.open_store() as store:
        readers = [r.reader for r in holdout_reads(store)]
    assert readers[1] == "bob"
    assert readers[0].startswith("os:")


@pytest.mark.usefixtures("shipped")
def test_export_waits_for_the_pipeline_lock(project: Project, tmp_path: Path) -> None:
    """Probe: an export ran beside a nightly run that held the run lock."""
    from flywheel.store import Store, run_lock

    out = tmp_path / "sft.jsonl"
    with Store.open(project.database_url) as other, run_lock(other, command="flywheel nightly"):
        held = runner.invoke(app, ["export", "sft", "--out", str(out), "--actor", "bob"])
    assert held.exit_code == 1, held.output
    assert "another run holds the pipeline lock" in held.output
    assert "`flywheel nightly`" in held.output
    assert not out.exists()
    with project.open_store() as store:
        assert holdout_reads(store) == []
    assert _run("export", "sft", "--out", str(out), "--actor", "bob")["records"]
