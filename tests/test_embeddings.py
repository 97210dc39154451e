"""flywheel.embeddings: normalised, deduplicated, cached, and clear when the model is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flywheel.embeddings import Embedder, shared_embedder
from flywheel.errors import UserError


def test_vectors_are_normalised_and_similar_texts_are_close() -> None:
    embedder = shared_embedder()
    vectors = embedder.encode(["renew the contract", "extend the agreement", "purple bananas"])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_identical_texts_give_identical_rows_in_order() -> None:
    vectors = shared_embedder().encode(["a cat", "a dog", "a cat"])
    assert np.array_equal(vectors[0], vectors[2])
    assert not np.array_equal(vectors[0], vectors[1])
    assert shared_embedder().encode([]).shape == (0, 384)


def test_disk_cache_serves_vectors_without_the_model(tmp_path: Path) -> None:
    texts = ["cached sentence one", "cached sentence two"]
    first = Embedder(cache_dir=tmp_path).encode(texts)
    assert len(list(tmp_path.rglob("*.npy"))) == 2
    offline = Embedder(model_path=tmp_path / "no-model-here", cache_dir=tmp_path)
    assert np.array_equal(offline.encode(texts), first)
    with pytest.raises(UserError, match="all-MiniLM-L6-v2"):
        offline.encode(["a text that was never cached"])


def test_missing_model_raises_a_user_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"all-MiniLM-L6-v2.*no-model"):
        Embedder(model_path=tmp_path / "no-model").encode(["hello"])
