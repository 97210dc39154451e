"""Safe rendering of trace content: always as text, never as Markdown or HTML.

Trace content is data written by users and models; it may carry ``<script>``, Markdown
links with ``javascript:`` targets or image tags. It goes only through ``st.text``,
``st.code`` and ``st.json`` (which render text), or through `plain` before it is used in a
widget label (labels render Markdown). No call in the app passes ``unsafe_allow_html``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import streamlit as st

from flywheel.trace import as_text

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^\"'])")


def shorten(text: object, limit: int = 120) -> str:
    """One line of at most ``limit`` characters (for places drawn as text, like options)."""
    flat = " ".join(str(text).split())
    return flat[: limit - 1] + "…" if len(flat) > limit else flat


def plain(text: object, *, limit: int = 120) -> str:
    """Text safe to use as a widget label: one line, Markdown and HTML characters escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", shorten(text, limit))


def escape(text: object) -> str:
    """Any text made safe for Markdown-rendering calls (st.error, st.caption...), in full."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def show_error(exc: Exception) -> None:
    st.error(escape(exc))


def show_text(value: Any, *, label: str | None = None) -> None:
    """A trace value: JSON structures as a JSON viewer, everything else as preformatted text."""
    if label:
        st.caption(plain(label))
    if value is None or value == "":
        st.text("—")
    elif isinstance(value, dict | list):
        st.json(json.loads(json.dumps(value, default=str)), expanded=1)
    else:
        st.code(as_text(value), language=None, wrap_lines=True)
