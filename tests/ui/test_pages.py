"""Every page renders from a real store (AppTest); trace content is only ever shown as text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import git
import pytest
from streamlit.testing.v1 import AppTest

from flywheel.project import Project, init_project
from flywheel.store import Store
from tests.helpers.app import APP, _assert_safe, _markdown_texts, _page, _plain
from tests.helpers.ui import gated, triaged
from ui import (
    Role,
    StoreQueue,
    User,
    add_user,
    approve,
    audit_records,
    rollback,
    users_path,
)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("this_week", "Clusters that grew or appeared"),
        ("clusters", "Map of failing traces"),
        ("datasets", "Replay case sets"),
        ("replay_runs", "Drift of main"),
        ("exports", "No exports in this folder yet"),
        ("audit", "Audit log"),
    ],
)
def test_each_page_renders(app_project: Project, page: str, expected: str) -> None:
    app = _page(page).run()
    _assert_safe(app)
    assert any(expected in text for text in _markdown_texts(app)), _markdown_texts(app)


def test_this_week_compares_with_last_week_and_charts_it(app_project: Project) -> None:
    app = _page("this_week").run()
    labels = {m.label: m.value for m in app.metric}
    assert {"Traces", "Failing", "Failing rate"} <= set(labels)
    assert int(labels["Traces"]) > 0
    assert len(app.get("vega_lite_chart")) >= 2


def test_clusters_page_shows_one_cluster_with_trend_and_map(app_project: Project) -> None:
    app = _page("clusters").run()
    first = app.selectbox(key="cluster_id").value
    options = [_plain(o).split(" · ")[0] for o in app.selectbox(key="cluster_id").options]
    other = next(o for o in options if o != first)
    app.selectbox(key="cluster_id").select(other).run()
    _assert_safe(app)
    assert _plain(app.header[0].value).startswith(f"{other}:")
    assert app.query_params["cluster"] == other  # the URL names the open cluster
    assert len(app.get("vega_lite_chart")) == 2  # weekly trend and 2-D map
    viewer = _page("clusters", Role.viewer).run()
    assert any("needs the reviewer role" in _plain(c.value) for c in viewer.caption)


def test_trace_explorer_renders_markup_as_text_only(app_project: Project) -> None:
    app = _page("traces")
    app.query_params["trace"] = "t-9999"  # a link or a pasted URL opens the trace
    app.run()
    _assert_safe(app)
    assert str(app.selectbox(key="trace_open").value).startswith("t-9999")
    code = "\n".join(str(c.value) for c in app.code)
    assert '<script>alert("xss")</script>' in code  # shown, as text
    assert "![img](http://evil.invalid/i.png)" in code
    labels = [ex.label for ex in app.expander]
    assert any("script" in label for label in labels)  # the hostile step name, escaped


def test_trace_search_filters_and_pages(app_project: Project) -> None:
    app = _page("traces").run()
    older = next(b for b in app.button if b.label == "Older")
    assert not older.disabled  # 301 traces: more than one page
    first_page = app.selectbox(key="trace_open").options
    older.click().run()
    assert not set(app.selectbox(key="trace_open").options) & set(first_page)

    app = _page("traces").run()
    app.text_input(key="f_id").input("t12")
    app.button[0].click().run()  # the form's Search button
    _assert_safe(app)
    options = app.selectbox(key="trace_open").options
    assert options
    assert all(o.startswith("t12") for o in options)
    assert next(b for b in app.button if b.label == "Older").disabled


def test_approval_in_the_page_merges_and_self_approval_is_refused(
    app_project: Project, config_repo: git.Repo
) -> None:
    with app_project.open_store() as store:
        gated(store, config_repo, "zz-mine", author="alice", priority=5.0)
        gated(store, config_repo, "zz-theirs", priority=4.0)
    app = _page("approvals", Role.approver).run()
    _assert_safe(app)
    assert app.selectbox(key="candidate_id").value == "zz-mine"  # highest priority first
    assert any("Replay gate: passed" in _plain(s.value) for s in app.success)
    assert any("broken" in _plain(c.value) for c in app.caption)
    app.button(key="FormSubmitter:decision-Approve").click().run()
    assert any("authored this candidate" in _plain(e.value) for e in app.error)
    assert not [b for b in app.button if b.key == "confirm_approve"]  # refused at once

    app.selectbox(key="candidate_id").select("zz-theirs").run()
    app.text_area(key="decision_comment").input("ship it")
    app.button(key="FormSubmitter:decision-Approve").click().run()
    _assert_safe(app)
    # A confirmation first: nothing is merged until the approver confirms.
    assert any("This merges" in _plain(w.value) for w in app.warning)
    with app_project.open_store() as store:
        assert StoreQueue(store).get("zz-theirs").status == "gated"
    app.button(key="confirm_approve").click().run()
    _assert_safe(app)
    assert any("shipped: merge commit" in _plain(s.value) for s in app.success)
    with app_project.open_store() as store:
        assert StoreQueue(store).get("zz-theirs").status == "shipped"
        assert audit_records(store)[0].action == "ship"
    assert len(config_repo.heads.main.commit.parents) == 2


def test_viewers_see_the_queue_but_cannot_decide(app_project: Project) -> None:
    app = _page("approvals", Role.viewer).run()
    _assert_safe(app)
    assert any("needs the approver role" in i.value for i in app.info)
    assert not [b for b in app.button if b.label == "Approve"]


def test_sign_in_accepts_the_right_password_and_rejects_a_wrong_one(
    app_project: Project,
) -> None:
    add_user(users_path(app_project.data_dir), "alice", Role.approver, "alice-password")
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="sign_in_name").input("alice")
    app.text_input(key="sign_in_password").input("not-the-password")
    app.button[0].click().run()
    assert [e.value for e in app.error] == ["Wrong user name or password."]
    assert "flywheel_user" not in app.session_state

    app.text_input(key="sign_in_password").input("alice-password")
    app.button[0].click().run()
    assert not app.exception
    assert app.session_state["flywheel_user"] == {
        "name": "alice",
        "role": "approver",
        "via": "session",  # recorded with each decision
    }
    assert any(t.value == "This week" for t in app.title)


def test_without_users_the_app_says_how_to_create_one(app_project: Project) -> None:
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert any("flywheel users add" in w.value for w in app.warning)


def test_pages_handle_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    project, _ = init_project(tmp_path / "empty")
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(project.root))
    for name in (
        "this_week",
        "clusters",
        "traces",
        "approvals",
        "datasets",
        "replay_runs",
        "exports",
        "audit",
    ):
        app = _page(name).run()
        assert not app.exception, (name, app.exception)
        assert app.info or app.markdown, name
    Store.open(project.database_url).close()


def test_a_reviewer_corrects_a_cluster_triage_as_a_human_label(app_project: Project) -> None:
    from triage import calibration_pairs, human_labels, triage_clusters

    app = _page("clusters", Role.reviewer, user="rita").run()
    cluster = str(app.selectbox(key="cluster_id").value)
    with app_project.open_store() as store:
        [record] = triage_clusters(store, cluster_ids=[cluster])
    app = _page("clusters", Role.reviewer, user="rita").run()
    assert str(app.selectbox(key="cluster_id").value) == cluster
    app.selectbox(key=f"label_root_cause_{cluster}").select("retrieval_ranking")
    app.selectbox(key=f"label_severity_{cluster}").select("S1")
    app.selectbox(key=f"label_owner_{cluster}").select("product")
    app.text_input(key=f"label_note_{cluster}").input("wrong notes retrieved")
    app.button(key=f"FormSubmitter:triage_label_{cluster}-Save label").click().run()
    assert not app.exception, app.exception
    assert any("Label saved" in _plain(s.value) for s in app.success), app.error
    shown = [str(t.value) for t in app.text]
    assert "Root cause: retrieval_ranking · severity: S1 · owner: product" in shown
    assert any(t.startswith("Corrected by rita (triage said: ") for t in shown), shown
    with app_project.open_store() as store:
        labels = human_labels(store)
        assert [(h.cluster_id, h.root_cause, h.severity, h.reviewer) for h in labels] == [
            (cluster, "retrieval_ranking", "S1", "rita")
        ]
        assert [(p.agent, p.human) for p in calibration_pairs(store)] == [
            (record.root_cause, "retrieval_ranking")
        ]
        label = audit_records(store)[0]
        assert (label.action, label.detail["owner"]) == ("label", "product")


def test_without_an_owner_correction_the_owner_follows_the_root_cause(
    app_project: Project,
) -> None:
    from triage import triage_clusters

    app = _page("clusters", Role.reviewer, user="rita").run()
    cluster = str(app.selectbox(key="cluster_id").value)
    with app_project.open_store() as store:
        triage_clusters(store, cluster_ids=[cluster])
    app = _page("clusters", Role.reviewer, user="rita").run()
    app.selectbox(key=f"label_root_cause_{cluster}").select("tool_arguments")
    app.button(key=f"FormSubmitter:triage_label_{cluster}-Save label").click().run()
    shown = [str(t.value) for t in app.text if str(t.value).startswith("Root cause: ")]
    assert shown[0].startswith("Root cause: tool_arguments · severity: S")
    assert shown[0].endswith(" · owner: tools")
    with app_project.open_store() as store:
        assert audit_records(store)[0].detail["owner"] is None


def test_this_week_shows_a_shipped_fix_and_its_effect(
    app_project: Project, config_repo: git.Repo
) -> None:
    with app_project.open_store() as store:
        gated(store, config_repo, "zz-ship", priority=5.0)
        approve(store, "zz-ship", User(name="bob", role=Role.approver), "ship it")
    app = _page("this_week").run()
    _assert_safe(app)
    shipped = next(frame.value for frame in app.dataframe if "zz-ship" in frame.value.to_string())
    row = shipped.iloc[0].to_dict()
    assert row["Cluster"] == "C-0001"
    assert row["Approvers"] == "bob"
    assert row["Rolled back"] == "no"

    with app_project.open_store() as store:
        rollback(store, "zz-ship", User(name="bob", role=Role.approver), "made it worse")
    app = _page("this_week").run()
    _assert_safe(app)
    shipped = next(frame.value for frame in app.dataframe if "zz-ship" in frame.value.to_string())
    assert shipped.iloc[0].to_dict()["Rolled back"] == "yes"


def test_the_correction_form_shows_the_picked_clusters_own_triage(app_project: Project) -> None:
    from triage import triage_clusters

    app = _page("clusters", Role.reviewer, user="rita").run()
    options = [_plain(o).split(" · ")[0] for o in app.selectbox(key="cluster_id").options]
    first, second = options[:2]
    with app_project.open_store() as store:
        records = {r.cluster_id: r for r in triage_clusters(store, cluster_ids=[first, second])}
    app = _page("clusters", Role.reviewer, user="rita").run()
    app.selectbox(key="cluster_id").select(first).run()
    other_cause = next(
        o.split(" ")[0]
        for o in app.selectbox(key=f"label_root_cause_{first}").options
        if not o.startswith(records[second].root_cause + " ")
    )
    app.selectbox(key=f"label_root_cause_{first}").select(other_cause)
    app.selectbox(key=f"label_severity_{first}").select("S4").run()  # edited, not saved

    app.selectbox(key="cluster_id").select(second).run()
    assert not app.exception
    assert app.selectbox(key=f"label_root_cause_{second}").value == records[second].root_cause
    assert app.selectbox(key=f"label_severity_{second}").value == records[second].severity
    app.button(key=f"FormSubmitter:triage_label_{second}-Save label").click().run()
    with app_project.open_store() as store:
        from triage import human_labels

        [label] = human_labels(store)
    assert (label.cluster_id, label.root_cause) == (second, records[second].root_cause)


def test_a_link_opens_a_cluster_with_its_candidates_and_traces(
    app_project: Project, config_repo: git.Repo
) -> None:
    with app_project.open_store() as store:
        gated(store, config_repo, "zz-fix", priority=5.0)
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.session_state["flywheel_user"] = {"name": "alice", "role": "admin"}
    app.query_params["cluster"] = "c-0001"  # as pasted, any case
    app.switch_page("views/clusters.py").run()
    _assert_safe(app)
    assert _plain(app.header[0].value).startswith("C-0001:")
    links = app.get("page_link")
    targets = {(link.proto.page, link.proto.query_string) for link in links}
    assert ("approvals", "candidate=zz-fix") in targets  # the cluster's candidate fix
    assert any(page == "traces" and query.startswith("trace=") for page, query in targets)

    app = AppTest.from_file(str(APP), default_timeout=60)
    app.session_state["flywheel_user"] = {"name": "alice", "role": "admin"}
    app.query_params["cluster"] = "C-9999"
    app.switch_page("views/clusters.py").run()
    assert any("No active cluster C" in _plain(w.value) for w in app.warning)


def test_traces_are_newest_first_by_their_own_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flywheel.ingest import ingest_paths
    from tests.helpers.native import trace, write_lines
    from ui._queries import TraceFilter, search_traces

    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    project, _ = init_project(tmp_path / "project")
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(project.root))
    # Ingested newest first (a backfill): ingestion order is the reverse of time order.
    stamps = [f"2026-11-{day:02d}T09:00:00Z" for day in range(20, 4, -1)]
    lines: list[bytes | str | dict[str, Any]] = [
        trace(n, timestamp=stamp) for n, stamp in enumerate(stamps)
    ]
    with project.open_store() as store:
        ingest_paths(store, [write_lines(tmp_path / "t.jsonl", lines)])
        first, more = search_traces(store, TraceFilter(), limit=5)
        assert [t.trace_id for t in first] == ["t-0", "t-1", "t-2", "t-3", "t-4"]
        assert more
        from ui._queries import cursor_of

        second, _ = search_traces(store, TraceFilter(), limit=5, after=cursor_of(first[-1]))
        assert [t.trace_id for t in second] == ["t-5", "t-6", "t-7", "t-8", "t-9"]
    app = _page("traces").run()
    assert app.selectbox(key="trace_open").value == "t-0 (native)"
    shown = app.dataframe[0].value
    assert list(shown["Trace"][:3]) == ["t-0", "t-1", "t-2"]
    assert shown["Time"][0] == "20 Nov 2026, 09:00 UTC"


def test_the_trace_cluster_filter_ignores_case(app_project: Project) -> None:
    from ui._queries import TraceFilter, search_traces

    with app_project.open_store() as store:
        upper, _ = search_traces(store, TraceFilter(cluster_id="C-0002"), limit=20)
        lower, _ = search_traces(store, TraceFilter(cluster_id=" c-0002 "), limit=20)
    assert upper
    assert [t.pk for t in lower] == [t.pk for t in upper]


def _gate_report(candidate_id: str, decision: str, reasons: list[str]) -> dict[str, Any]:
    return {
        "candidate_id": candidate_id,
        "cluster_id": "C-0002",
        "decision": decision,
        "reasons": reasons,
        "target": {"cases": 12, "fixed": 2, "broken": 3},
    }


def test_candidates_the_gate_did_not_pass_are_listed_with_its_reasons(
    app_project: Project,
) -> None:
    from replay import ReplayStore

    with app_project.open_store() as store:
        replay = ReplayStore(store)
        for cid, decision, reasons in (
            ("opt-7", "pass", []),
            ("opt-7", "fail", ["blocking set: 2 newly failing cases"]),  # latest counts
            ("opt-8", "inconclusive", ["target slice: 4 cases, too few to judge"]),
            ("opt-9", "fail", ["regression pass rate fell 6 pp"]),
            ("opt-9", "pass", []),  # passed at last: not listed
        ):
            replay.save_gate_decision(
                _gate_report(cid, decision, reasons),
                cluster_id="C-0002",
                p_value=None,
                baseline_digest="b",
                candidate_digest=cid,
            )
    app = _page("approvals", Role.viewer).run()
    app.radio(key="queue_status").set_value("gate_failed").run()
    _assert_safe(app)
    shown = app.dataframe[0].value
    assert list(shown["Candidate"]) == ["opt-8", "opt-7"]
    assert list(shown["Gate"]) == ["inconclusive", "fail"]
    assert shown["Reasons"][1] == "blocking set: 2 newly failing cases"
    assert shown["Broken"][1] == "3"


def test_a_gate_with_an_empty_blocking_set_says_it_checked_nothing(
    app_project: Project, config_repo: git.Repo
) -> None:
    from ui import register_candidate

    with app_project.open_store() as store:
        candidate = gated(store, config_repo, "zz-unguarded", priority=9.0)
        unguarded = candidate.model_copy(
            update={
                "id": "zz-unguarded-2",
                "gate": candidate.gate.model_copy(update={"blocking_cases": 0}),
            }
        )
        register_candidate(store, unguarded)
    app = _page("approvals", Role.approver)
    app.query_params["candidate"] = "zz-unguarded-2"
    app.run()
    _assert_safe(app)
    assert app.selectbox(key="candidate_id").value == "zz-unguarded-2"
    assert any("blocking set had no cases" in _plain(w.value) for w in app.warning)
    assert not any("newly failing of 0" in _plain(c.value) for c in app.caption)
    assert "no blocking cases: nothing was checked" in app.dataframe[1].value.to_string()


def test_a_candidate_link_opens_it_whatever_its_status(
    app_project: Project, config_repo: git.Repo
) -> None:
    with app_project.open_store() as store:
        gated(store, config_repo, "zz-done", priority=1.0)
        approve(store, "zz-done", User(name="bob", role=Role.approver), "fine")
    app = _page("approvals", Role.approver)
    app.query_params["candidate"] = "zz-done"
    app.run()
    _assert_safe(app)
    assert app.radio(key="queue_status").value == "shipped"
    assert app.selectbox(key="candidate_id").value == "zz-done"
    assert any(f.label == "Roll back" for f in app.button)


def test_another_status_stays_picked_after_a_candidate_link(
    app_project: Project, config_repo: git.Repo
) -> None:
    with app_project.open_store() as store:
        gated(store, config_repo, "zz-open", priority=1.0)
    app = _page("approvals", Role.approver)
    app.query_params["candidate"] = "zz-open"
    app.run()
    app.radio(key="queue_status").set_value("gate_failed").run()
    app.run()  # any later rerun (a click) keeps the list the approver picked
    assert app.radio(key="queue_status").value == "gate_failed"
    assert "candidate" not in app.query_params


RAW = re.compile(r"^(None|nan|NaN|\{.*\}|\[.*\]|True|False)$")


@pytest.mark.parametrize(
    "page", ["this_week", "clusters", "traces", "approvals", "datasets", "replay_runs", "audit"]
)
def test_tables_speak_to_people_not_in_column_names_or_python_values(
    app_project: Project, config_repo: git.Repo, page: str
) -> None:
    with app_project.open_store() as store:
        gated(store, config_repo, "zz-table", priority=9.0)
        approve(store, "zz-table", User(name="bob", role=Role.approver), "ok")
        gated(store, config_repo, "zz-waiting", priority=8.0)
    app = _page(page).run()
    _assert_safe(app)
    assert app.dataframe, page
    for frame in app.dataframe:
        table = frame.value
        for column in table.columns:
            assert "_" not in str(column), (page, column)
            assert column == "p-value" or str(column)[:1] == str(column)[:1].upper(), column
            for value in table[column]:
                if column == "Last 6 weeks":  # a sparkline's weekly counts
                    assert [int(n) for n in value] == list(value), (page, column)
                    continue
                assert value is not None, (page, column)
                assert not RAW.match(str(value)), (page, column, value)


def test_the_audit_log_filters_by_action_and_who(
    app_project: Project, config_repo: git.Repo
) -> None:
    with app_project.open_store() as store:
        gated(store, config_repo, "zz-audited", priority=9.0)
        approve(store, "zz-audited", User(name="bob", role=Role.approver), "ok")
    app = _page("audit").run()
    app.text_input(key="audit_action").input("ship").run()
    shown = app.dataframe[0].value
    assert list(shown["Action"]) == ["ship"]
    assert list(shown["Subject"]) == ["zz-audited"]
    assert "merge sha: " in shown["Details"][0]
    app.text_input(key="audit_action").input("").run()
    app.text_input(key="audit_actor").input("nobody").run()
    assert not app.dataframe
    assert any("No record matches" in i.value for i in app.info)


def test_daily_volume_is_bars_per_day_with_whole_number_ticks(app_project: Project) -> None:
    import json as json_

    app = _page("this_week").run()
    spec = json_.loads(app.get("vega_lite_chart")[0].proto.spec)
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["type"] == "ordinal"  # one bar per day, not an hourly axis
    assert spec["encoding"]["y"]["axis"]["format"] == "d"
    assert spec["encoding"]["y"]["axis"]["tickMinStep"] == 1


def test_after_five_wrong_passwords_even_the_right_one_waits(app_project: Project) -> None:
    add_user(users_path(app_project.data_dir), "carol", Role.approver, "carol-password")
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="sign_in_name").input("carol")
    for n in range(5):
        app.text_input(key="sign_in_password").input(f"guess-{n}")
        app.button[0].click().run()
        assert [e.value for e in app.error] == ["Wrong user name or password."]
    app.text_input(key="sign_in_password").input("carol-password")
    app.button[0].click().run()
    assert "flywheel_user" not in app.session_state
    assert any("Too many wrong passwords" in e.value for e in app.error)


def test_weekly_trends_agree_with_the_two_week_counts(app_project: Project) -> None:
    from ui._queries import cluster_lines, cluster_weeks, reference_end, week_overview, weekly_rates

    with app_project.open_store() as store:
        end = reference_end(store)
        assert end is not None
        lines = cluster_lines(store, end)
        weeks = cluster_weeks(store, end)
        rates = weekly_rates(store, end)
        overview = week_overview(store, end)
    for line in lines:
        assert weeks.get(line.id, [0] * 6)[-2:] == [line.last_week, line.this_week], line.id
    assert len(rates) == 8
    assert (rates[-1].traces, rates[-1].failing) == (
        overview.this_week.traces,
        overview.this_week.failing,
    )
    assert rates[-2].traces == overview.last_week.traces
    app = _page("clusters").run()
    assert "Last 6 weeks" in app.dataframe[0].value.columns
    assert len(_page("this_week").run().get("vega_lite_chart")) >= 3  # with the weekly rate


def test_the_cluster_map_is_shared_until_the_clustering_changes(
    app_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import insert

    import ui._cache as cache
    from flywheel.store._tables import ClusterRunRow
    from ui._queries import cluster_map as real

    calls: list[int] = []

    def counted(store: Any) -> list[dict[str, Any]]:
        calls.append(1)
        return real(store)

    monkeypatch.setattr(cache, "cluster_map", counted)
    cache._cluster_map.clear()
    with app_project.open_store() as store:
        first = cache.shared_cluster_map(store)
        assert first
        first[0]["group"] = "changed by a page"  # each caller gets its own copy
        again = cache.shared_cluster_map(store)
        assert len(calls) == 1
        assert "group" not in again[0]
        with store.engine.begin() as conn:  # a new clustering run: the map is drawn afresh
            conn.execute(insert(ClusterRunRow).values(kind="incremental", model="bench"))
        cache.shared_cluster_map(store)
        assert len(calls) == 2


def test_clusters_under_the_review_threshold_are_listed_as_needing_a_human(
    app_project: Project,
) -> None:
    from sqlalchemy import update

    from triage._tables import TriageRecordRow

    app = _page("clusters").run()
    cluster = str(app.selectbox(key="cluster_id").value)
    with app_project.open_store() as store:
        record_id = triaged(store, cluster)
        with store.engine.begin() as conn:
            conn.execute(
                update(TriageRecordRow)
                .where(TriageRecordRow.id == record_id)
                .values(
                    fixable=False,
                    confidence=0.3,
                    detail={
                        "needs_review": True,
                        "review_reasons": ["a single trace: the pattern is not established yet"],
                        "handoff_reason": "needs a human first: confidence 0.30 is under 0.50",
                        "name": "Policy questions answered from memory, no search",
                    },
                )
            )
    week = _page("this_week").run()
    _assert_safe(week)
    assert "Needs a human" in [str(s.value) for s in week.subheader]
    (table,) = [
        frame.value
        for frame in week.dataframe
        if "Why" in frame.value.columns  # the "needs a human" table
    ]
    row = table.iloc[0].to_dict()
    assert row == {
        "Cluster": cluster,
        "Name": "Policy questions answered from memory, no search",
        "Confidence": "0.30",
        "Why": "a single trace: the pattern is not established yet",
    }
    page = _page("clusters").run()
    shown = [str(t.value) for t in page.text]
    assert "Needs a human: a single trace: the pattern is not established yet" in shown
    assert any(t.startswith("Not for the optimizers, goes to prompt: needs a human") for t in shown)
