"""BM25 search over the corpus (rank_bm25); ties break by corpus order, so results are stable."""

from __future__ import annotations

import re
from functools import cache

from rank_bm25 import BM25Okapi

from examples.acme_assistant.corpus import Document, load_corpus

#: How many documents the retriever returns; fixed in code (a reranker is not configurable).
TOP_K = 4

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "show",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "when",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "draft",
        "write",
        "email",
        "reply",
        "short",
        "formal",
        "tone",
        "give",
        "tell",
        "list",
        "key",
        "facts",
        "summarise",
        "bullet",
        "bullets",
        "points",
        "keep",
        "meant",
        "rephrase",
    ]
)
_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return [tok for tok in _TOKEN.findall(text.lower()) if tok not in _STOPWORDS]


@cache
def _index() -> BM25Okapi:
    return BM25Okapi([tokenize(f"{doc.title} {doc.text}") for doc in load_corpus()])


@cache
def search(query: str, k: int = TOP_K) -> tuple[tuple[Document, float], ...]:
    """The ``k`` best documents for ``query`` with their BM25 scores, best first."""
    tokens = tokenize(query)
    if not tokens:
        return ()
    scores = _index().get_scores(tokens)
    docs = load_corpus()
    order = sorted(range(len(docs)), key=lambda i: (-float(scores[i]), i))[:k]
    return tuple((docs[i], round(float(scores[i]), 4)) for i in order if scores[i] > 0)
