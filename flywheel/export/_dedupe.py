"""Near-duplicate removal: exact duplicates by hash, then by cosine similarity of sentence
embeddings (the core's offline MiniLM `Embedder`, cached), keeping the first of each group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flywheel.embeddings import Embedder
from flywheel.trace import content_digest


def keep_distinct(
    texts: Sequence[str], *, threshold: float, embedder: Embedder | None
) -> tuple[list[int], int, int]:
    """(indices kept, exact duplicates dropped, near-duplicates dropped).

    A text is dropped when its cosine similarity to an earlier kept text reaches
    ``threshold``; with ``threshold >= 1`` or no embedder, only exact duplicates go.
    """
    seen: set[str] = set()
    unique: list[int] = []
    for index, text in enumerate(texts):
        digest = content_digest(text.strip().lower().encode())
        if digest not in seen:
            seen.add(digest)
            unique.append(index)
    exact = len(texts) - len(unique)
    if threshold >= 1 or embedder is None or len(unique) < 2:
        return unique, exact, 0
    vectors = embedder.encode([texts[i] for i in unique])
    kept: list[int] = []
    kept_vectors = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    for row, index in enumerate(unique):
        vector = vectors[row]
        if kept_vectors.shape[0] and float(np.max(kept_vectors @ vector)) >= threshold:
            continue
        kept.append(index)
        kept_vectors = np.vstack([kept_vectors, vector[None, :]])
    return kept, exact, len(unique) - len(kept)
