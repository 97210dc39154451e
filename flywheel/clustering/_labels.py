"""Cluster labels: c-TF-IDF keywords, medoid exemplars, and an LLM name when one is configured.

c-TF-IDF treats each cluster's signatures as one document: a term's frequency in the cluster,
times ``log(1 + mean words per cluster / the term's frequency over all clusters)``, so words
that mark one pattern rank above words every failure shares.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

#: Placeholder and boiler words that say nothing about a pattern.
_EXTRA_STOP = frozenset(
    {
        "id",
        "url",
        "email",
        "date",
        "truncated",
        "signals",
        "errors",
        "path",
        "feedback",
        "scores",
        "output",
        "request",
        "score",
        "low",
        "route",
        "via",
    }
)
_TOKEN = r"(?u)\b[^\W\d_][\w-]{2,}\b"


def ctfidf_keywords(
    docs_by_cluster: Sequence[Sequence[str]],
    top: int,
    repeats: Sequence[Sequence[int]] | None = None,
) -> list[list[str]]:
    """The ``top`` keywords of each cluster (one list of signatures per cluster).

    With ``repeats``, signature ``j`` of cluster ``c`` stands for ``repeats[c][j]`` identical
    ones: the same keywords as the repeated lists, counted without joining them (no word spans
    two signatures, so the counts of the repeated lists are the weighted counts).
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    if not docs_by_cluster:
        return []
    stop = sorted(ENGLISH_STOP_WORDS | _EXTRA_STOP)
    vectorizer = CountVectorizer(token_pattern=_TOKEN, stop_words=stop, lowercase=True)
    try:
        if repeats is None:
            joined = [" ".join(docs) for docs in docs_by_cluster]
            counts = vectorizer.fit_transform(joined).toarray().astype(np.float64)
        else:
            flat = [doc for docs in docs_by_cluster for doc in docs]
            per_doc = vectorizer.fit_transform(flat).tocsr()
            owner = np.repeat(np.arange(len(docs_by_cluster)), [len(d) for d in docs_by_cluster])
            weight = np.asarray([r for rs in repeats for r in rs], dtype=np.float64)
            from scipy import sparse

            spread = sparse.csr_matrix(
                (weight, (owner, np.arange(len(flat)))), shape=(len(docs_by_cluster), len(flat))
            )
            counts = (spread @ per_doc).toarray().astype(np.float64)
    except ValueError:  # no usable word at all
        return [[] for _ in docs_by_cluster]
    words = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    mean_words = counts.sum() / len(docs_by_cluster)
    idf = np.log(1.0 + mean_words / np.maximum(counts.sum(axis=0), 1.0))
    weights = tf * idf
    result: list[list[str]] = []
    for row in weights:
        order = sorted(range(len(words)), key=lambda i: (-row[i], words[i]))
        result.append([str(words[i]) for i in order[:top] if row[i] > 0])
    return result


def medoids(
    vectors: npt.NDArray[np.float32], ids: Sequence[str], centroid: npt.NDArray[np.float32], k: int
) -> list[str]:
    """The ``k`` members closest to the centroid (ties broken by id)."""
    return medoids_by_similarity(vectors @ centroid, ids, k)


def medoids_by_similarity(sims: npt.NDArray[Any], ids: Sequence[str], k: int) -> list[str]:
    """The ``k`` ids of the highest similarity to the centroid (ties broken by id)."""
    order = sorted(range(len(ids)), key=lambda i: (-round(float(sims[i]), 6), ids[i]))
    return [ids[i] for i in order[:k]]


def keyword_label(keywords: Sequence[str]) -> str:
    return " / ".join(keywords[:3]) if keywords else "(unlabelled)"


class ClusterName(BaseModel):
    """What the naming model returns for one cluster."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="a short name of the failure pattern, at most 6 words")
    description: str = Field(description="one sentence: how these traces failed")


def name_prompt(keywords: Sequence[str], exemplars: Sequence[str]) -> str:
    shown = "\n\n".join(f"Example {i + 1}:\n{text}" for i, text in enumerate(exemplars))
    return (
        "These failing traces of an LLM agent form one failure pattern.\n"
        f"Distinctive keywords: {', '.join(keywords)}\n\n{shown}\n\n"
        "Name the failure pattern (at most 6 words) and describe in one sentence how the "
        "agent failed."
    )


def clean_name(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()[:120]
