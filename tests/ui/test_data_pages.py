"""The Datasets, Replay runs and Exports pages over the demo data (AppTest)."""

from __future__ import annotations

import json

from flywheel.project import Project
from tests.helpers.app import NIGHTS, _assert_safe, _page, _plain
from ui import Role
from ui._datasets import case_set_versions
from ui._history import main_drift, replay_drift
from ui.approvals import exports_dir


def _frames(app: object) -> list[list[dict[str, object]]]:
    return [el.value.to_dict("records") for el in app.dataframe]  # type: ignore[attr-defined]


def test_datasets_page_browses_eval_sets_by_role_and_case_set_versions(
    app_project: Project,
) -> None:
    app = _page("datasets").run()
    _assert_safe(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["regression eval set"] == "1 case"
    assert metrics["holdout eval set"] == "0 cases"
    assert "holdout" not in app.selectbox(key="eval_role").options
    app.selectbox(key="eval_role").select("regression").run()
    frames = _frames(app)
    [case] = next(f for f in frames if f and "Tags" in f[0])
    assert (case["Trace"], case["Added by"], case["Tags"]) == ("t-9999", "rita", "regression")
    assert "<script>" in str(case["Expected"])  # shown as a table cell: text
    versions = next(f for f in frames if f and "Version" in f[0])
    assert [v["Cases"] for v in versions] == [1]

    sets = app.selectbox(key="case_set")
    assert len(sets.options) == 2  # the target slice and the regression set
    with app_project.open_store() as store:
        versions = case_set_versions(store)
    regression = next(v["digest"] for v in versions if v["suite"] == "regression")
    assert any(o.startswith("regression · regression · ") for o in sets.options)
    sets.select(regression).run()
    _assert_safe(app)
    cases = next(f for f in _frames(app) if f and "Stratum" in f[0])
    assert [c["Case"] for c in cases] == ["case-1", "case-2", "case-3"]
    assert cases[0]["Expected"] == "reference=notes/q1.md"


def test_replay_runs_page_charts_main_drift_from_the_nightly(app_project: Project) -> None:
    app = _page("replay_runs").run()
    _assert_safe(app)
    metrics = {m.label: m for m in app.metric}
    assert metrics["Regression pass rate (latest)"].value == f"{NIGHTS[-1]:.1%}"
    assert metrics["Measurements"].value == str(len(NIGHTS))
    assert len(app.get("vega_lite_chart")) == 1
    assert any("nightly's drift stage" in c.value for c in app.caption)
    nightly = next(f for f in _frames(app) if f and "Stage" in f[0])
    assert nightly[0]["Stage"] == "drift"
    assert nightly[0]["Seconds"] == 1.0 + len(NIGHTS) - 1  # the newest run is selected
    replays = next(f for f in _frames(app) if f and "Case set" in f[0])
    assert (replays[0]["Candidate"], replays[0]["Pass"], replays[0]["Fail"]) == (
        "(baseline)",
        2,
        1,
    )


def test_drift_falls_back_to_baseline_replays_before_the_first_nightly(
    app_project: Project,
) -> None:
    with app_project.open_store() as store:
        nightly = main_drift(store)
        fallback = replay_drift(store)
    assert [p.pass_rate for p in nightly] == list(NIGHTS)
    assert [(p.source, round(p.pass_rate or 0, 3), p.cases) for p in fallback] == [
        ("replay", 0.667, 3)
    ]


def test_exports_page_runs_an_export_and_shows_its_dataset_card(app_project: Project) -> None:
    viewer = _page("exports", Role.viewer).run()
    _assert_safe(viewer)
    assert any("needs the approver role" in i.value for i in viewer.info)

    app = _page("exports", Role.approver).run()
    app.selectbox(key="export_kind").select("eval")
    app.button(key="FormSubmitter:export-Export now").click().run()
    _assert_safe(app)
    assert any("wrote 1 eval records" in _plain(s.value) for s in app.success), app.error
    [written] = list(exports_dir(app_project).glob("eval-*.jsonl"))
    assert exports_dir(app_project).stat().st_mode & 0o777 == 0o700  # users' words
    assert written.stat().st_mode & 0o777 == 0o600
    record = json.loads(written.read_text(encoding="utf-8").splitlines()[0])
    assert record  # a real eval record
    listed = next(f for f in _frames(app) if f and "Dataset card" in f[0])
    assert [(r["File"], r["Records"]) for r in listed] == [(written.name, 1)]
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels[-1] == f"Download {written.name}"
    code = "\n".join(str(c.value) for c in app.code)
    assert "provenance" in code  # the card (as text) and the first record


def test_an_export_with_nothing_eligible_writes_nothing_and_says_why(
    app_project: Project,
) -> None:
    app = _page("exports", Role.approver).run()
    app.selectbox(key="export_kind").select("preference")
    app.button(key="FormSubmitter:export-Export now").click().run()
    assert not app.exception, app.exception
    assert app.error, "a NothingToExport message"
    assert not list(exports_dir(app_project).glob("*.jsonl"))
