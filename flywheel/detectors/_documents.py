"""Retrieved documents, read from any of the usual conventions.

Where a trace keeps what a retrieval returned varies by producer; this module reads all of
these into one `Document` (id, rank, title, text, score, day):

- native / LangChain: a retriever (reranker, tool) step's output, a list or an object holding
  one under ``documents``, ``results``, ``hits``, ``chunks``... whose items are ids or objects
  with ``id`` / ``doc_id`` / ``uri``..., ``title``, ``content`` / ``page_content``, ``score``
  and a date, each possibly inside ``metadata`` (a dict or a JSON string);
- OpenInference: ``{"document": {"id", "content", "score", "metadata"}}`` items, or the flat
  span attributes ``retrieval.documents.N.document.*`` / ``reranker.output_documents.N...``
  left in the step's metadata;
- a document's age under any common key (``date``, ``updated_at``, ``lastModified``,
  ``published_at``, ``effective_date``, ``as_of``...), as ISO text or epoch seconds / ms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flywheel.detectors._text import decoded, to_day, words
from flywheel.trace import Step, StepType, Trace

DOC_LISTS = (
    "documents",
    "results",
    "docs",
    "hits",
    "items",
    "chunks",
    "passages",
    "matches",
    "records",
    "context",
    "sources",
    "output_documents",
    "retrieval.documents",
    "reranker.output_documents",
)
ID_KEYS = ("id", "doc_id", "document_id", "docId", "source_id", "uri", "url", "source", "key")
TEXT_KEYS = ("title", "name", "text", "content", "snippet", "page_content", "summary", "body")
TITLE_KEYS = ("title", "name", "heading", "document_title", "file_name", "filename")
DATE_KEYS = (
    "date",
    "updated_at",
    "updatedAt",
    "last_updated",
    "lastUpdated",
    "last_modified",
    "lastModified",
    "modified",
    "modified_at",
    "modifiedAt",
    "published",
    "published_at",
    "publishedAt",
    "publication_date",
    "effective_date",
    "effectiveDate",
    "as_of",
    "asOf",
    "valid_from",
    "version_date",
    "revised",
    "created_at",
    "createdAt",
    "timestamp",
)
SCORE_KEYS = ("score", "relevance_score", "similarity", "rerank_score", "_score")
_FLAT_DOCUMENT = re.compile(
    r"^(?:retrieval\.documents|reranker\.output_documents)\.(\d+)\.document\.(\w+)$"
)
#: What tells two editions of one document apart in a title: a year, a version, a state word.
_EDITION = re.compile(
    r"\b(?:19|20)\d\d\b|\bv(?:ersion)?\s?\d+(?:\.\d+)*\b|[()\[\]]|"
    r"\b(?:old|new|draft|final|current|latest|archived?)\b",
    re.I,
)
_ID_EDITION = re.compile(r"[-_.]?(?:v\d+|draft|old|new|final|current|latest|\d{4})$", re.I)
_DOCUMENT_STEPS = (StepType.retriever, StepType.reranker, StepType.tool)


@dataclass(frozen=True)
class Document:
    """One retrieved document as the detectors see it."""

    id: str
    rank: int
    step_id: str
    title: str
    text: str
    score: float | None
    day: date | None
    words: frozenset[str] = frozenset()

    @property
    def edition_keys(self) -> tuple[str, ...]:
        """Keys shared by editions of one document: the id and the title without their year,
        version or state words (an identical title alone is a series, not an edition)."""
        keys = ["id:" + _ID_EDITION.sub("", self.id).lower()]
        if self.title:
            keys.append("title:" + " ".join(_EDITION.sub(" ", self.title.lower()).split()))
        return tuple(keys)


@dataclass(frozen=True)
class Retrieval:
    """Every document retrieved in a trace (deduplicated by id), and whether any step
    returned a list of documents at all (even of items that could not be read)."""

    documents: tuple[Document, ...]
    retrieved: bool

    def by_id(self) -> dict[str, Document]:
        return {doc.id: doc for doc in self.documents}


def read_retrieval(trace: Trace) -> Retrieval:
    found: dict[str, Document] = {}
    retrieved = False
    for step in trace.steps:
        if step.type not in _DOCUMENT_STEPS or step.error:
            continue
        items = step_items(step)
        for rank, item in enumerate(items):
            retrieved = True
            doc = _document(item, rank, step.id)
            if doc is None:
                continue
            known = found.get(doc.id)
            # A tool may list bare ids and a retriever the same documents with their fields.
            if known is None or (not known.text and doc.text):
                found[doc.id] = doc
    return Retrieval(tuple(found.values()), retrieved)


def step_items(step: Step) -> list[Any]:
    """The document items a step returned, from its output or its OpenInference attributes."""
    items = output_items(step.output)
    if items:
        return items
    flat: dict[int, dict[str, Any]] = {}
    for key, value in step.metadata.items():
        match = _FLAT_DOCUMENT.match(key)
        if match:
            flat.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if flat:
        return [flat[i] for i in sorted(flat)]
    for key in ("retrieval.documents", "reranker.output_documents", "documents"):
        value = decoded(step.metadata.get(key))
        if isinstance(value, list):
            return value
    return []


def output_items(output: Any) -> list[Any]:
    """The list of documents in a step output (a list, or an object holding one)."""
    output = decoded(output)
    if isinstance(output, dict):
        for key in DOC_LISTS:
            value = decoded(output.get(key))
            if isinstance(value, list):
                return value
        inner = output.get("output") or output.get("outputs")
        if isinstance(inner, dict | list) and inner is not output:
            return output_items(inner)
        return []
    if isinstance(output, list):
        return output
    return []


def _document(item: Any, rank: int, step_id: str) -> Document | None:
    if isinstance(item, str):
        return Document(item, rank, step_id, "", "", None, None) if len(item) <= 120 else None
    if not isinstance(item, dict):
        return None
    fields = _flatten(item)
    meta = decoded(fields.get("metadata"))
    layers = [fields, meta] if isinstance(meta, dict) else [fields]
    ident = _first(layers, ID_KEYS)
    if ident is None:
        return None
    text = " ".join(
        str(layer[k]) for layer in layers for k in TEXT_KEYS if isinstance(layer.get(k), str)
    )
    title = _first(layers, TITLE_KEYS) or ""
    day = next(
        (d for layer in layers for k in DATE_KEYS if (d := to_day(layer.get(k))) is not None),
        None,
    )
    raw_score = next((layer[k] for layer in layers for k in SCORE_KEYS if k in layer), None)
    score = (
        float(raw_score)
        if isinstance(raw_score, int | float) and not isinstance(raw_score, bool)
        else None
    )
    return Document(str(ident), rank, step_id, str(title), text, score, day, words(text))


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    """An OpenInference ``{"document": {...}}`` or ``{"document.id": ...}`` item, flattened."""
    fields = dict(item)
    inner = fields.pop("document", None)
    if isinstance(inner, dict):
        fields = {**inner, **fields}
    for key in list(fields):
        if key.startswith("document."):
            fields.setdefault(key.removeprefix("document."), fields[key])
    return fields


def _first(layers: list[dict[str, Any]], keys: tuple[str, ...]) -> str | None:
    for layer in layers:
        for key in keys:
            value = layer.get(key)
            if value not in (None, "") and isinstance(value, str | int):
                return str(value)
    return None
