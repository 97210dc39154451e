"""Sanitising what goes into git: branch name components and commit text."""

from __future__ import annotations

import re
import unicodedata

_REF_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def ref_component(text: str, *, max_len: int = 40, fallback: str = "x") -> str:
    """One safe path component of a git ref: ASCII [a-z0-9._-], no '..', no leading dot/dash.

    Satisfies `git check-ref-format` rules (no ``..``, no ``.lock`` suffix, no leading ``.``
    or ``-``, no control or special characters) whatever the input.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    cleaned = _REF_UNSAFE.sub("-", ascii_text)
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip(".-_")
    cleaned = cleaned[:max_len].rstrip(".-_")
    if cleaned.endswith(".lock"):
        cleaned = cleaned[: -len(".lock")] + "-lock"
    return cleaned or fallback


def branch_name(cluster_id: str, strategy: str, number: int) -> str:
    return f"flywheel/{ref_component(cluster_id)}/{ref_component(strategy)}-{int(number)}"


def one_line(text: str, *, max_len: int = 300) -> str:
    """A trailer value: one line, no control characters, bounded length."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= max_len else flat[: max_len - 1] + "…"


def commit_text(text: str, *, max_len: int = 4000) -> str:
    """A commit body: control characters removed, lines that look like trailers defused."""
    lines = []
    for line in _CONTROL.sub(" ", text).splitlines():
        # A body line shaped like "Key: value" would be parsed as a trailer: indent it.
        lines.append(("  " + line if re.match(r"^[A-Za-z-]+:\s", line) else line).rstrip())
    body = "\n".join(lines).strip()
    return body[:max_len]


def commit_message(subject: str, body: str, trailers: dict[str, str]) -> str:
    lines = [one_line(subject, max_len=72), ""]
    if body.strip():
        lines += [commit_text(body), ""]
    lines += [f"{key}: {one_line(value)}" for key, value in trailers.items()]
    return "\n".join(lines) + "\n"
