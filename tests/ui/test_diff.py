"""The approvals diff: lines that came from traces are highlighted, and stay text."""

from __future__ import annotations

import difflib
from pathlib import Path

import git
from streamlit.testing.v1 import AppTest

from flywheel.project import Project
from optimizers._files import dump_yaml, load_yaml_mapping
from optimizers._sanitise import TracedText
from tests.helpers.ui import XSS, gated
from ui._diff import diff_html, diff_lines, traces_in
from ui.approvals import register_candidate

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
FEWSHOT = """\
examples:
  - request: Who owns the Acme account?
    answer: Dana owns it [CRM-1].
"""
ROUTING = """\
exemplars:
  search: ['who owns the account']
threshold: 0.30   # tuned 2024-05
"""


def _unified(name: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{name}",
            f"b/{name}",
        )
    )


def _fewshot_diff() -> str:
    data = load_yaml_mapping("fewshot/examples.yaml", FEWSHOT)
    data["examples"].append(
        {
            "request": TracedText("Draft an email to Sam about the renewal", ["t-7"]),
            "answer": TracedText("Here is a draft: ...", ["t-7", "t-9"]),
        }
    )
    return _unified("fewshot/examples.yaml", FEWSHOT, dump_yaml(FEWSHOT, data))


def _routing_diff() -> str:
    data = load_yaml_mapping("routing.yaml", ROUTING)
    data["exemplars"]["search"].append(TracedText("what did globex complain about", ["t-3"]))
    return _unified("routing.yaml", ROUTING, dump_yaml(ROUTING, data))


def test_a_new_list_item_from_traces_is_highlighted_with_its_marker() -> None:
    lines = diff_lines(_fewshot_diff())
    marked = [line.text for line in lines if line.from_trace]
    assert marked == [
        "+  # from_trace: t-7, t-9",
        "+  - request: Draft an email to Sam about the renewal",
        "+    answer: 'Here is a draft: ...'",
    ]
    assert all(line.trace_ids == ("t-7", "t-9") for line in lines if line.from_trace)
    # The existing example and the headers are not from a trace.
    assert not any(line.from_trace for line in lines if "Acme" in line.text or "Dana" in line.text)
    assert traces_in(lines) == ["t-7", "t-9"]


def test_an_end_of_line_marker_highlights_that_line_only() -> None:
    lines = diff_lines(_routing_diff())
    marked = [line for line in lines if line.from_trace]
    assert len(marked) == 1
    assert marked[0].kind == "add"
    assert "globex" in marked[0].text
    assert marked[0].trace_ids == ("t-3",)
    removed = [line for line in lines if line.kind == "remove"]
    assert removed
    assert not removed[0].from_trace
    assert not any(line.from_trace for line in lines if "threshold" in line.text)


def test_a_diff_without_markers_highlights_nothing_and_the_next_item_is_not_swept_in() -> None:
    diff = (
        "--- a/fewshot.yaml\n+++ b/fewshot.yaml\n@@ -1,2 +1,6 @@\n examples:\n"
        "+  # from_trace: t-1\n+  - request: one\n+    answer: a\n"
        "+  - request: written by hand\n+    answer: b\n"
    )
    lines = diff_lines(diff)
    assert [line.text for line in lines if line.from_trace] == [
        "+  # from_trace: t-1",
        "+  - request: one",
        "+    answer: a",
    ]
    assert [line.kind for line in lines[:3]] == ["header", "header", "header"]
    assert not any(line.from_trace for line in diff_lines("-Answer.\n+Search first.\n"))


def test_the_html_escapes_trace_text_and_marks_the_lines() -> None:
    diff = f"--- a/p.yaml\n+++ b/p.yaml\n+  - note: {XSS}  # from_trace: t-<b>1</b>\n"
    page = diff_html(diff_lines(diff))
    for tag in ("<script", "<img", "<b>"):
        assert tag not in page
    assert "&lt;script&gt;" in page
    assert page.count('class="add from-trace"') == 1
    assert "from trace t-&lt;b&gt;1&lt;/b&gt;" in page
    assert "white-space:pre-wrap" in page  # long lines wrap


def test_the_approvals_page_highlights_lines_from_traces_and_links_them(
    app_project: Project, config_repo: git.Repo
) -> None:
    with app_project.open_store() as store:
        candidate = gated(store, config_repo, "zz-traced", priority=99.0)
        register_candidate(store, candidate.model_copy(update={"diff": _fewshot_diff()}))
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.session_state["flywheel_user"] = {"name": "alice", "role": "admin"}
    app.query_params["candidate"] = "zz-traced"
    app.switch_page("views/approvals.py").run()
    assert not app.exception
    [shown] = [h.proto.body for h in app.get("html") if "fw-diff" in h.proto.body]
    assert shown.count("from-trace") >= 2
    assert "from trace t-7, t-9" in shown
    assert any("came from production traces" in c.value for c in app.caption)
    targets = {link.proto.query_string for link in app.get("page_link")}
    assert {"trace=t-7", "trace=t-9"} <= targets
