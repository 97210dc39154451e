"""`flywheel datasets ...` and `flywheel export ...` as a user runs them, checked in the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.datasets import Role, current_version, holdout_reads, list_cases
from flywheel.project import Project
from tests.datasets._world import load_traffic, ship_fix

runner = CliRunner()


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
    denied = runner.invoke(app, ["datasets", "holdout", "--purpose", "tuning", "--actor", "gepa"])
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
