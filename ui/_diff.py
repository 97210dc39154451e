"""A candidate's diff for a reviewer: wrapped, coloured, and the lines from traces highlighted.

Optimizers copy production text (users' requests, agents' answers) into the configuration
and mark it with a ``# from_trace: <ids>`` comment (`optimizers._sanitise`,
`optimizers._files.dump_yaml`): at the end of the line a value went into, or on its own line
before a new list item. Those lines are users' words that the agent will read as
instructions, so the approver must read them closely: the diff shows them on a yellow band
with the trace ids beside them. An own-line marker highlights itself and the list item that
follows it (the item's first line at the marker's indentation and its deeper lines).

The diff is drawn as HTML (`st.html`, no JavaScript) built here: every piece of diff text is
HTML-escaped, so markup in a trace stays text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["header", "add", "remove", "context"]

_MARKER = re.compile(r"#\s*from_trace:\s*(?P<ids>[^#]*?)\s*$")
_HEADERS = ("+++", "---", "@@", "diff ", "index ", "new file", "deleted file", "similarity")


@dataclass(frozen=True)
class DiffLine:
    text: str
    kind: Kind
    #: The traces this line's text came from (empty for other lines).
    trace_ids: tuple[str, ...] = ()

    @property
    def from_trace(self) -> bool:
        return bool(self.trace_ids)


def _kind(line: str) -> Kind:
    if line.startswith(_HEADERS):
        return "header"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "remove"
    return "context"


def _indent(body: str) -> int:
    return len(body) - len(body.lstrip(" "))


def _ids(match: re.Match[str]) -> tuple[str, ...]:
    return tuple(part.strip() for part in match.group("ids").split(",") if part.strip())


def diff_lines(diff: str) -> list[DiffLine]:
    """The diff's lines with their kind and, for lines from traces, the trace ids."""
    lines: list[DiffLine] = []
    # An own-line marker's (ids, indentation, kind, whether the item's first line was seen).
    block: tuple[tuple[str, ...], int, Kind, bool] | None = None
    for raw in diff.splitlines():
        kind = _kind(raw)
        body = raw[1:] if kind != "header" and raw else raw
        match = _MARKER.search(body) if kind != "header" else None
        if match is not None:
            ids = _ids(match)
            own_line = not body[: match.start()].strip()
            block = (ids, _indent(body), kind, False) if own_line else None
            lines.append(DiffLine(raw, kind, ids or ("?",)))
            continue
        if block is not None:
            ids, column, block_kind, started = block
            indent = _indent(body)
            belongs = (
                kind == block_kind
                and body.strip()
                and (indent > column or (not started and indent == column))
            )
            if belongs:
                block = (ids, column, block_kind, True)
                lines.append(DiffLine(raw, kind, ids or ("?",)))
                continue
            block = None
        lines.append(DiffLine(raw, kind))
    return lines


def traces_in(lines: list[DiffLine]) -> list[str]:
    """Every trace id the diff's lines came from, in order of first mention."""
    return list(dict.fromkeys(tid for line in lines for tid in line.trace_ids if tid != "?"))


_BOX = (
    "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:0.85rem;"
    "border:1px solid rgba(128,128,128,.35);border-radius:.5rem;padding:.5rem 0"
)
_LINE = "white-space:pre-wrap;overflow-wrap:anywhere;padding:0 .75rem;min-height:1.2em;"
_KIND = {
    "header": "color:#6b7280;font-weight:600;",
    "add": "background:rgba(34,197,94,.14);",
    "remove": "background:rgba(239,68,68,.14);",
    "context": "",
}
_FROM_TRACE = "background:rgba(250,204,21,.4);border-left:4px solid #ca8a04;"
_TAG = "float:right;margin-left:1rem;font-size:.75rem;color:#854d0e;font-weight:600"


def diff_html(lines: list[DiffLine]) -> str:
    """The diff as escaped HTML: one block per line; lines from traces carry a tag.

    Styles are inline (the HTML is sanitised before it is drawn); each line's ``class`` says
    its kind and ``from-trace`` marks a line from a trace (tests and the browser look for it).
    """
    rows = []
    for line in lines:
        classes = [line.kind] + (["from-trace"] if line.from_trace else [])
        style = _LINE + _KIND[line.kind] + (_FROM_TRACE if line.from_trace else "")
        tag = ""
        if line.from_trace:
            ids = html.escape(", ".join(line.trace_ids), quote=True)
            tag = f'<span style="{_TAG}">from trace {ids}</span>'
        text = html.escape(line.text, quote=True) or "&nbsp;"
        rows.append(f'<div class="{" ".join(classes)}" style="{style}">{tag}{text}</div>')
    return f'<div class="fw-diff" style="{_BOX}">{"".join(rows)}</div>'
