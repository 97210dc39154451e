"""Helpers of the app's page tests: AppTest sessions, the markup-safety check, demo data for
the Datasets, Replay runs and Exports pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from flywheel.datasets import Expected, add_case
from flywheel.nightly._runs import begin_stage, end_stage, set_run_status, start_run
from flywheel.nightly._tables import NightlyRunRow, NightlyStageRow
from flywheel.store import Store
from replay import Case, CaseResult, CaseSet, ConfigRef, Expectations, ReplayStore, Status, Suite
from tests.helpers.ui import XSS
from ui import Role

PAGES = Path(__file__).resolve().parents[2] / "ui" / "views"
APP = PAGES.parent / "app.py"
#: What must never reach a Markdown-rendering element unescaped.
DANGEROUS = re.compile(r"(?<!\\)<script|(?<!\\)\]\(javascript|(?<!\\)!\[img")
#: Main's regression pass rate on the demo nights (the Replay runs page draws it).
NIGHTS = (0.82, 0.84, 0.81, 0.86)
NIGHT_ONE = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)


def _plain(text: str) -> str:
    """What a reader sees of a backslash-escaped Markdown text."""
    return re.sub(r"\\(.)", r"\1", text)


def _page(name: str, role: Role = Role.admin, user: str = "alice") -> AppTest:
    app = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)
    app.session_state["flywheel_user"] = {"name": user, "role": role.value}
    return app


def _markdown_texts(app: AppTest) -> list[str]:
    texts: list[str] = []
    for kind in ("markdown", "caption", "title", "header", "subheader"):
        texts += [str(getattr(el, "value", "")) for el in app.get(kind)]
    for kind in ("error", "success", "info", "warning"):
        texts += [str(getattr(el, "value", "")) for el in app.get(kind)]
    texts += [ex.label for ex in app.expander]
    return texts


def _assert_safe(app: AppTest) -> None:
    assert not app.exception, app.exception
    for text in _markdown_texts(app):
        assert not DANGEROUS.search(text), text


def seed_data_pages(store: Store, config_dir: Path, hostile_trace_id: str) -> None:
    """Eval sets, replay case sets and runs, and four nightly drift measurements."""
    add_case(
        store,
        hostile_trace_id,
        role="regression",
        added_by="rita",
        tags=["regression"],
        expected=Expected(reference_output=f"The summary. {XSS}"),
        cluster_id="C-0001",
    )
    replay = ReplayStore(store)
    cases = tuple(
        Case(
            case_id=f"case-{n}",
            inputs={"input": f"Where are the Q{n} notes? {XSS}"},
            cluster_id="C-0001",
            expected=Expectations(reference=f"notes/q{n}.md"),
        )
        for n in range(1, 5)
    )
    replay.save_case_set(
        CaseSet(name="target C-0001", suite=Suite.validation, cluster_id="C-0001", cases=cases)
    )
    regression = replay.save_case_set(
        CaseSet(name="regression", suite=Suite.regression, cases=cases[:3])
    )
    config_dir.mkdir(parents=True, exist_ok=True)
    run = replay.start_run(
        label="baseline regression",
        config=ConfigRef(directory=config_dir),
        config_digest="main-digest",
        set_digest=regression,
        repeats=1,
    )
    replay.write_results(
        run,
        [
            CaseResult(
                config_digest="main-digest",
                case_digest=case.digest,
                case_id=case.case_id,
                repeat=0,
                status=Status.passed if n else Status.failed,
            )
            for n, case in enumerate(cases[:3])
        ],
    )
    replay.finish_run(run, "completed", {"pass": 2, "fail": 1, "error": 0})
    for night, rate in enumerate(NIGHTS):
        run_id = start_run(store, ["drift"], {})
        begin_stage(store, run_id, "drift", 0)
        end_stage(
            store,
            run_id,
            "drift",
            status="finished",
            seconds=1.0 + night,
            summary={"pass_rate": rate, "cases": 300},
        )
        set_run_status(store, run_id, "finished")
        night_at = NIGHT_ONE + timedelta(days=night)
        with store.engine.begin() as conn:  # one measurement per night, as cron would
            conn.execute(
                update(NightlyStageRow)
                .where(NightlyStageRow.run_id == run_id)
                .values(started_at=night_at, finished_at=night_at)
            )
            conn.execute(
                update(NightlyRunRow)
                .where(NightlyRunRow.id == run_id)
                .values(started_at=night_at, finished_at=night_at)
            )
