"""Instruction following by meaning: which behaviours a configuration switches on.

Each behaviour has a few anchor sentences describing it. Every sentence of the prompts and of
the tool descriptions is embedded (all-MiniLM-L6-v2 via flywheel.embeddings); a sentence
switches a behaviour ON when its best cosine similarity to that behaviour's anchors is at least
`THRESHOLD` and that behaviour is the sentence's best match. So "search the knowledge base
before you reply about a client" works as well as the anchor wording, and unrelated sentences
do not. Calibration (tests/examples/test_behaviours.py): paraphrases score 0.53-0.86, unrelated
instructions at most 0.44. Known limit: negation is not understood ("never cite" counts as
citing), as with a weak model.

Few-shot examples also demonstrate behaviours (`demonstrated`), detected structurally from
their responses (a "Subject:" line, bullet lines, bracketed document ids).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from examples.acme_assistant.config import AgentConfig
from flywheel.embeddings import Embedder, shared_embedder

THRESHOLD = 0.5

BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "search_first": (
        "Search company knowledge before answering questions about customers or accounts.",
        "Look up the internal documents before you answer anything about a client.",
        "Do not answer account questions from memory; check the knowledge base first.",
        "Always retrieve the relevant notes before replying about a customer.",
    ),
    "include_draft": (
        "When the user asks for an email draft, include the complete draft text.",
        "If asked to write a message, reply with the full message itself, not a summary.",
        "Always produce the actual email when a draft is requested.",
        "Never omit the draft the user asked for.",
    ),
    "known_recipients": (
        "Only address emails to contacts named in the request or in the retrieved documents.",
        "Never invent a recipient for a draft.",
        "Use only real contact names that appear in the sources when writing to someone.",
        "Do not make up names or email addresses of recipients.",
    ),
    "cite_sources": (
        "Cite the document id that supports each statement.",
        "Reference the source document for every claim you make.",
        "Include citations to the exact notes you used.",
        "Back each fact with the id of the document it came from.",
    ),
    "follow_format": (
        "Follow the format the user asks for, such as a bullet list or a table.",
        "Respect the requested tone and layout of the answer.",
        "If the user wants bullet points, answer in bullet points.",
        "Match the style and formatting instructions given by the user.",
    ),
    "resolve_dates": (
        "Convert relative dates like last week into ISO calendar dates before calling a tool.",
        "Tool date arguments must be absolute dates in YYYY-MM-DD format.",
        "Resolve expressions such as yesterday or last month to exact dates.",
        "Never pass phrases like 'last week' as a date; compute the actual date.",
    ),
}

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_cache: dict[str, frozenset[str]] = {}


def sentences(texts: Iterable[str]) -> list[str]:
    """Split texts into sentences, dropping headings, bullets markers and fragments."""
    out: list[str] = []
    for text in texts:
        for raw in _SENTENCE_END.split(text):
            sentence = _BULLET.sub("", raw).strip().lstrip("#").strip()
            if len(sentence.split()) >= 3:
                out.append(sentence)
    return out


def matches(texts: list[str], embedder: Embedder | None = None) -> list[tuple[str, float]]:
    """For each sentence, its best-matching behaviour and similarity (behaviour "" if none)."""
    if not texts:
        return []
    embedder = embedder or shared_embedder()
    names = list(BEHAVIOURS)
    anchors = embedder.encode([a for name in names for a in BEHAVIOURS[name]])
    vectors = embedder.encode(texts)
    sims = vectors @ anchors.T  # (sentences, anchors)
    bounds = np.cumsum([0] + [len(BEHAVIOURS[name]) for name in names])
    per_behaviour = np.stack(
        [sims[:, bounds[i] : bounds[i + 1]].max(axis=1) for i in range(len(names))], axis=1
    )
    result: list[tuple[str, float]] = []
    for row in per_behaviour:
        best = int(np.argmax(row))
        score = float(row[best])
        result.append((names[best] if score >= THRESHOLD else "", score))
    return result


def instructed(config: AgentConfig, embedder: Embedder | None = None) -> frozenset[str]:
    """Behaviours the configuration's prompts and tool descriptions instruct (cached)."""
    key = config.digest
    if key not in _cache:
        found = matches(sentences(config.instruction_text), embedder)
        _cache[key] = frozenset(name for name, _ in found if name)
    return _cache[key]


def demonstrated(config: AgentConfig) -> frozenset[str]:
    """Behaviours shown by the few-shot examples' responses."""
    shown: set[str] = set()
    for file in config.fewshot.values():
        for example in file.examples:
            request, response = example.request.lower(), example.response
            if re.search(r"\b(draft|email|write)\b", request) and re.search(
                r"^subject:", response, re.I | re.M
            ):
                shown.add("include_draft")
                greeting = re.search(r"^(?:dear|hi|hello)\s+([A-Z][\w-]+)", response, re.M)
                if greeting and greeting.group(1).lower() in request:
                    shown.add("known_recipients")
            if ("bullet" in request or "list" in request) and len(
                re.findall(r"^\s*[-*]\s+", response, re.M)
            ) >= 2:
                shown.add("follow_format")
            if re.search(r"\[[A-Z]{2,3}-[\w-]+\]", response):
                shown.add("cite_sources")
    return frozenset(shown)
