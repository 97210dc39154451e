"""The Approvals page's flipped cases: one escaped block of closed cases, nothing lost."""

from __future__ import annotations

import re

import git

from flywheel.project import Project
from tests.helpers.app import _assert_safe, _page, _plain
from tests.helpers.ui import XSS, gated
from ui import FlippedCase, Role
from ui._flips import flips_html


def _flips() -> list[FlippedCase]:
    return [
        FlippedCase(
            case_id=f"case-{n}",
            direction="fixed" if n % 2 else "broken",
            slice="target" if n < 3 else "regression",
            input=f"Where are the Q{n} notes? {XSS}",
            baseline_output=f"baseline {n} & <b>bold</b>",
            candidate_output="" if n == 4 else f"candidate {n}\nsecond line",
        )
        for n in range(1, 6)
    ]


def test_every_case_is_one_closed_details_with_all_its_text_escaped() -> None:
    flips = _flips()
    block = flips_html(flips)

    cases = re.findall(r"<details[^>]*>(.*?)</details>", block, flags=re.S)
    assert len(cases) == len(flips)
    assert " open" not in block  # closed until a reviewer opens one
    assert "<script" not in block
    assert "<b>bold</b>" not in block
    for flip, case in zip(flips, cases, strict=True):
        summary = re.search(r"<summary[^>]*>(.*?)</summary>", case, flags=re.S)
        assert summary is not None
        assert f"case {flip.case_id}" in summary.group(1)
        assert flip.direction in summary.group(1)
        assert flip.slice in summary.group(1)
        assert "Where are the Q" in case
        assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in case
        assert "&lt;b&gt;bold&lt;/b&gt;" in case
    assert "candidate 1\nsecond line" in cases[0]
    assert "—" in cases[3]  # an empty output says so


def test_the_approvals_page_draws_the_flips_as_one_block_not_code_blocks(
    app_project: Project, config_repo: git.Repo
) -> None:
    with app_project.open_store() as store:
        gated(store, config_repo, "zz-top", priority=9.0)
    app = _page("approvals", Role.approver).run()
    _assert_safe(app)
    assert app.selectbox(key="candidate_id").value == "zz-top"
    blocks = [str(h.proto.body) for h in app.get("html") if "fw-flips" in str(h.proto.body)]
    assert len(blocks) == 1
    assert "case case-1" in blocks[0]
    assert "Found them: notes/q3.md" in blocks[0]  # the candidate's output, in full
    assert not app.code  # no code block per case any more
    assert not [e for e in app.expander if "case-1" in e.label]


def test_the_approvals_page_counts_approvals_under_the_clusters_current_severity(
    app_project: Project, config_repo: git.Repo
) -> None:
    """The header and the confirmation come from the desk's view: S3 when queued, S1 now."""
    from tests.helpers.ui import triaged
    from triage import label_cluster

    with app_project.open_store() as store:
        triaged(store, severity="S3")
        gated(store, config_repo, "zz-top", severity="S3", priority=9.0)
        label_cluster(store, "C-0001", root_cause="prompt_instruction", severity="S1", reviewer="r")
    app = _page("approvals", Role.approver).run()
    _assert_safe(app)
    shown = " ".join(str(t.value) for t in app.text)
    assert "severity S1" in shown
    assert "approvals 0 of 2" in shown
    app.button(key="FormSubmitter:decision-Approve").click().run()
    warning = " ".join(_plain(str(w.value)) for w in app.warning)
    assert "This records your approval; a S1 fix needs 2 approvers" in warning
