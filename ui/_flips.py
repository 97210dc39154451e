"""The cases a candidate flipped, as one escaped HTML block (the Approvals page's evidence).

One `st.html` element instead of an expander, a code block and two columns of code blocks per
case: each Streamlit code block is a syntax-highlighter component the browser builds on first
render, open or not, and that was most of the Approvals page's cost in the browser (issue 19).
Here each case is a native ``<details>``, closed until clicked (the browser lays out its body
only when opened), with the same text: direction, slice, case id, the input, and the baseline
and candidate outputs side by side. Everything is escaped; styles are inline because the HTML
is sanitised before it is drawn.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ui.approvals import FlippedCase

_BOX = "display:flex;flex-direction:column;gap:.35rem"
_CASE = "border:1px solid rgba(128,128,128,.35);border-radius:.5rem;padding:.35rem .75rem"
_SUMMARY = "cursor:pointer;font-weight:600"
_DIRECTION = {"fixed": "color:#15803d", "broken": "color:#b91c1c"}
_LABEL = "font-size:.8rem;color:#6b7280;margin:.5rem 0 .15rem"
_TEXT = (
    "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;"
    "white-space:pre-wrap;overflow-wrap:anywhere;margin:0;padding:.5rem .75rem;"
    "background:rgba(128,128,128,.08);border-radius:.35rem"
)
_PAIR = "display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.75rem"


def _text(label: str, value: str) -> str:
    body = html.escape(value or "—", quote=True)
    return f'<div style="{_LABEL}">{label}</div><pre style="{_TEXT}">{body}</pre>'


def _case(flip: FlippedCase) -> str:
    direction = html.escape(flip.direction, quote=True)
    tone = _DIRECTION.get(flip.direction, "")
    summary = (
        f'<span style="{tone}">{direction}</span> · {html.escape(flip.slice, quote=True)} · '
        f"case {html.escape(flip.case_id, quote=True)}"
    )
    pair = (
        f'<div style="{_PAIR}"><div>{_text("baseline", flip.baseline_output)}</div>'
        f"<div>{_text('candidate', flip.candidate_output)}</div></div>"
    )
    return (
        f'<details class="fw-flip {direction}" style="{_CASE}">'
        f'<summary style="{_SUMMARY}">{summary}</summary>'
        f"{_text('input', flip.input)}{pair}</details>"
    )


def flips_html(flips: Sequence[FlippedCase]) -> str:
    """The flipped cases as one block of closed ``<details>``, one per case, in order."""
    return f'<div class="fw-flips" style="{_BOX}">{"".join(_case(f) for f in flips)}</div>'
