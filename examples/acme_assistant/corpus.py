"""The shipped document corpus (corpus.jsonl, built by corpus_builder.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict

CORPUS_PATH = Path(__file__).with_name("corpus.jsonl")


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: str
    title: str
    text: str
    date: str
    group: str
    customer: str | None = None
    superseded_by: str | None = None

    @property
    def stale(self) -> bool:
        return self.superseded_by is not None


@cache
def load_corpus() -> tuple[Document, ...]:
    lines = CORPUS_PATH.read_bytes().splitlines()
    return tuple(Document.model_validate(orjson.loads(line)) for line in lines if line.strip())


@cache
def documents_by_id() -> dict[str, Document]:
    return {doc.id: doc for doc in load_corpus()}
