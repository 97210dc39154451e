"""`flywheel demo quickstart`, the README's main command: it works and a rerun reuses everything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flywheel.cli import app


def test_quickstart_creates_a_demo_project_and_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    runner = CliRunner()
    target = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "quickstart", str(target), "--n", "200", "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["traces"] == 200
    assert summary["ingest"]["stored"] == 200
    assert 0 < summary["flagged_failing"] < 200
    assert summary["detection_recall"] > 0.8
    assert (target / "agent-config" / "routing.yaml").is_file()
    assert "config_repo" in (target / "flywheel.toml").read_text()

    second = runner.invoke(app, ["demo", "quickstart", str(target), "--n", "200", "--json"])
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert (again["ingest"]["stored"], again["ingest"]["duplicates"]) == (0, 200)
