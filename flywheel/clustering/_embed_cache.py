"""Embeddings cached in the store by (model, SHA-256 of the text): nothing is embedded twice."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection, insert, select

from flywheel.clustering._signature import signature_hash
from flywheel.embeddings import DEFAULT_MODEL, Embedder, LLMEmbedder, TextEmbedder, Vectors
from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import EmbeddingRow

if TYPE_CHECKING:
    from flywheel.config import ComputeConfig
    from flywheel.llm import LLMClient

_CHUNK = 500


@dataclass
class EmbedStats:
    """What one `embed_cached` call did: texts asked, distinct, served from cache, embedded."""

    texts: int = 0
    distinct: int = 0
    cached: int = 0
    embedded: int = 0
    seconds_model: float = 0.0
    seconds_cache: float = 0.0

    def add(self, other: EmbedStats) -> None:
        self.texts += other.texts
        self.distinct += other.distinct
        self.cached += other.cached
        self.embedded += other.embedded
        self.seconds_model += other.seconds_model
        self.seconds_cache += other.seconds_cache

    @property
    def throughput(self) -> float:
        """Texts embedded per second of model time (0 when nothing was embedded)."""
        return self.embedded / self.seconds_model if self.seconds_model else 0.0


#: ``clustering.embedding_model`` value that embeds through ``[llm] models.embedding``.
LLM_MODEL = "llm"


def make_embedder(
    model: str, llm: LLMClient | None = None, *, compute: ComputeConfig | None = None
) -> TextEmbedder:
    """The offline MiniLM for the default name, the ``[llm]`` embedding model for ``"llm"``,
    else a sentence-transformers name or path. With a Ray ``compute`` executor, a
    sentence-transformers model embeds on the cluster (the LLM one calls its provider)."""
    ray = compute is not None and compute.executor != "local"
    if model == DEFAULT_MODEL and not ray:
        from flywheel.embeddings import shared_embedder

        return shared_embedder()
    if model == DEFAULT_MODEL:
        return Embedder(compute=compute)
    if model == LLM_MODEL:
        if llm is None or not llm.is_configured("embedding"):
            raise UserError(
                'clustering.embedding_model = "llm" embeds through [llm] models.embedding, '
                'which is not set; set it (e.g. embedding = "openai/text-embedding-3-small") '
                "or name a sentence-transformers model"
            )
        return LLMEmbedder(llm)
    return Embedder(model_path=model, model_name=model, compute=compute)


def embed_cached(
    store: Store, embedder: TextEmbedder, texts: Sequence[str]
) -> tuple[Vectors, list[str], EmbedStats]:
    """Unit vectors of ``texts`` (one row each), their hashes, and what it cost.

    Distinct texts are looked up in the store's cache; only the missing ones reach the model,
    and their vectors are written back in the same call.
    """
    stats = EmbedStats(texts=len(texts))
    hashes = [signature_hash(text) for text in texts]
    distinct: dict[str, str] = {}
    for key, text in zip(hashes, texts, strict=True):
        distinct.setdefault(key, text)
    stats.distinct = len(distinct)
    began = time.perf_counter()
    found = _load(store, embedder.model_name, list(distinct))
    stats.cached = len(found)
    stats.seconds_cache = time.perf_counter() - began
    missing = [key for key in distinct if key not in found]
    if missing:
        began = time.perf_counter()
        vectors = embedder.encode([distinct[key] for key in missing])
        stats.seconds_model = time.perf_counter() - began
        stats.embedded = len(missing)
        fresh = dict(zip(missing, vectors, strict=True))
        _save(store, embedder.model_name, fresh)
        found.update(fresh)
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32), hashes, stats
    matrix = np.stack([found[key] for key in hashes]).astype(np.float32, copy=False)
    return matrix, hashes, stats


def load_vectors(store: Store, model: str, hashes: Sequence[str]) -> dict[str, Vectors]:
    """Cached vectors of ``hashes`` (those present)."""
    return _load(store, model, list(dict.fromkeys(hashes)))


def _load(store: Store, model: str, keys: list[str]) -> dict[str, Vectors]:
    found: dict[str, Vectors] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(keys), _CHUNK):
            query = select(EmbeddingRow.text_hash, EmbeddingRow.vector).where(
                EmbeddingRow.model == model,
                EmbeddingRow.text_hash.in_(keys[start : start + _CHUNK]),
            )
            for key, blob in conn.execute(query):
                found[key] = np.frombuffer(blob, dtype=np.float32)
    return found


def _save(store: Store, model: str, vectors: dict[str, Vectors]) -> None:
    rows = [
        {"model": model, "text_hash": key, "dim": int(vec.shape[0]), "vector": vec.tobytes()}
        for key, vec in vectors.items()
    ]
    with store.engine.begin() as conn:
        existing = set(_load_keys(conn, model, list(vectors)))
        rows = [row for row in rows if row["text_hash"] not in existing]
        for start in range(0, len(rows), _CHUNK):
            conn.execute(insert(EmbeddingRow), rows[start : start + _CHUNK])


def _load_keys(conn: Connection, model: str, keys: list[str]) -> list[str]:
    out: list[str] = []
    for start in range(0, len(keys), _CHUNK):
        query = select(EmbeddingRow.text_hash).where(
            EmbeddingRow.model == model, EmbeddingRow.text_hash.in_(keys[start : start + _CHUNK])
        )
        out.extend(conn.execute(query).scalars())
    return out
