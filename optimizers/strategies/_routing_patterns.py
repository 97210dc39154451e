"""Text helpers of the routing edits: requests generalised (proper names dropped), a rule's
pattern narrowed or a distinctive one found, and diverse exemplars chosen.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from optimizers._evidence import (
    scrub_pii,
    similarity_matrix,
    tokens,
)

_PROPER = re.compile(r"(?<=\w\s)(?:[A-Z][\w&'-]*)(?:\s+[A-Z][\w&'-]*)*")


def generalise(request: str) -> str:
    """An exemplar from a request: personal data and proper names removed."""
    text = _PROPER.sub("", scrub_pii(request))
    return " ".join(text.replace(" .", ".").split()).strip(" ,.?!").lower()


def _alternatives(pattern: str) -> tuple[str, str, list[str]] | None:
    match = re.fullmatch(r"(.*?)\((\?:)?([^()]*)\)(.*)", pattern)
    if not match or "|" not in match.group(3):
        return None
    return (
        match.group(1) + "(" + (match.group(2) or ""),
        ")" + match.group(4),
        match.group(3).split("|"),
    )


def narrow_pattern(pattern: str, wrong: list[str], right: list[str]) -> str | None:
    """The pattern without the alternatives that catch more misrouted than right requests."""
    parts = _alternatives(pattern)
    if parts is None:
        return None
    head, tail, options = parts
    keep = []
    for option in options:
        compiled = re.compile(head + option + tail, re.I)
        bad = sum(1 for text in wrong if compiled.search(text))
        good = sum(1 for text in right if compiled.search(text))
        if bad <= good:
            keep.append(option)
    if not keep or len(keep) == len(options):
        return None
    return head + "|".join(keep) + tail


def distinctive_pattern(wrong: list[str], others: list[str], size: int = 4) -> str | None:
    """A word-alternation regex matching many misrouted and few other-route requests."""
    if not wrong:
        return None
    df_wrong = Counter(w for text in wrong for w in set(tokens(text)))
    df_other = Counter(w for text in others for w in set(tokens(text)))
    ranked = sorted(
        (w for w in df_wrong if len(w) > 3 and df_other[w] / max(1, len(others)) < 0.02),
        key=lambda w: (-df_wrong[w], w),
    )[:size]
    if not ranked:
        return None
    pattern = r"\b(" + "|".join(re.escape(w) for w in ranked) + r")\b"
    compiled = re.compile(pattern, re.I)
    coverage = sum(1 for text in wrong if compiled.search(text)) / len(wrong)
    return pattern if coverage >= 0.4 else None


def diverse_exemplars(texts: list[str], k: int) -> list[str]:
    """Greedy max-min selection: each next exemplar least like the ones chosen."""
    if len(texts) <= k:
        return texts
    sims = similarity_matrix(texts, texts)
    chosen = [int(np.argmax(sims.sum(axis=1)))]
    while len(chosen) < k:
        rest = [i for i in range(len(texts)) if i not in chosen]
        chosen.append(min(rest, key=lambda i: (max(sims[i, j] for j in chosen), i)))
    return [texts[i] for i in chosen]
