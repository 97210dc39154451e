"""`flywheel bench ui`: every page measured through Chromium, medians of the runs, the goal."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.errors import UserError
from ui._browser_bench import find_browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def test_a_missing_browser_is_a_one_line_error_naming_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither chromium nor chromedriver on it
    with pytest.raises(UserError, match=r"chromium not found.*--via apptest"):
        find_browser(None, None)
    with pytest.raises(UserError, match="chromedriver not found"):
        find_browser(str(CHROMIUM), None)


def test_an_unknown_way_to_measure_is_refused() -> None:
    result = CliRunner().invoke(app, ["bench", "ui", "--via", "firefox"])
    assert result.exit_code != 0
    assert "--via" in result.output


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and os.environ.get("CI") != "true",
    reason="Debian's chromium and chromedriver are not installed (CI installs them)",
)
def test_every_page_is_measured_in_chromium(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "ui",
            "--traces",
            "500",
            "--clusters",
            "10",
            "--candidates",
            "5",
            "--repeats",
            "2",
            "--workdir",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["via"] == "chromium"
    assert report["browser"].startswith("Chromium ")
    pages = ["this_week", "clusters", "traces", "approvals"]
    pages += ["datasets", "replay_runs", "exports", "audit"]
    assert list(report["first_render_s"]) == pages
    for page, runs in report["runs_s"].items():
        assert len(runs) == 2
        assert all(0.05 < seconds < 60 for seconds in runs), (page, runs)
        assert report["first_render_s"][page] == round(statistics.median(runs), 3)
    assert report["max_s"] == max(report["first_render_s"].values())
    # the browser's own share: busy, and less than the whole wait
    for page, busy in report["browser_main_thread_s"].items():
        assert 0 < busy < report["first_render_s"][page] * 2, (page, busy)
    assert len(report["load_average"]) == 3
    assert report["goal_s"] == 1.5
    assert report["over_goal"] == sorted(
        page for page, seconds in report["first_render_s"].items() if seconds > 1.5
    )
