"""The words of a request that can say what it is about: content words and adjacent pairs.

Shared by the healthy-traffic baseline (how common each term is in healthy requests) and the
cluster names (the terms a cluster's requests share and healthy ones do not).
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Words that say nothing about what a request is about: greetings, politeness, sentiment
#: and degree words.
_FILLER = frozenset(
    [
        "please",
        "need",
        "needs",
        "want",
        "wants",
        "help",
        "hello",
        "thanks",
        "thank",
        "know",
        "tell",
        "like",
        "just",
        "hey",
        "could",
        "would",
        "does",
        "did",
        "make",
        "get",
        "got",
        "let",
        "sure",
        "today",
        "hi",
        "great",
        "good",
        "nice",
        "helpful",
        "happy",
        "unhappy",
        "bad",
        "lately",
        "say",
        "said",
        "really",
        "very",
        "quick",
        "short",
        "still",
        "again",
        "also",
        "okay",
        "yes",
        "day",
        "awesome",
        "cool",
    ]
)
_WORD = re.compile(r"[a-z][a-z0-9'-]*")
#: Shorter words are never content ("my", "to"), but still break a pair.
MIN_LETTERS = 3
#: Characters of a request read (the start says what it is about).
HEAD_CHARS = 400


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | _FILLER


def request_terms(text: str) -> set[str]:
    """The content words of ``text`` and its pairs of adjacent content words ("refund policy");
    a pair never spans a word left out."""
    tokens = _WORD.findall(text.lower()[:HEAD_CHARS])
    stop = _stop_words()
    content = [len(w) >= MIN_LETTERS and w not in stop for w in tokens]
    terms = {w for w, keep in zip(tokens, content, strict=True) if keep}
    terms.update(
        f"{tokens[i]} {tokens[i + 1]}"
        for i in range(len(tokens) - 1)
        if content[i] and content[i + 1]
    )
    return terms
