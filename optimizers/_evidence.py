"""Reading evidence out of traces: requests, routes, outputs, text similarity, PII scrubbing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from flywheel.trace import StepType, Trace

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ()-]{7,}\d(?!\w)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")
_CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_SECRET = re.compile(r"(?i)\b(password|passwd|api[_-]?key|token|secret)\b(\s*[:=]\s*)\S+")
_WORD = re.compile(r"[a-z][a-z0-9'-]+")

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "into",
        "than",
        "then",
        "there",
        "these",
        "those",
        "any",
        "all",
        "some",
        "just",
        "also",
        "give",
        "tell",
        "show",
        "let",
    ]
)


def scrub_pii(text: str) -> str:
    """Replace e-mail addresses, phone and card numbers and inline secrets with placeholders."""
    text = _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    text = _CARD.sub("[NUMBER]", text)
    # ISO dates and times look like phone numbers to the pattern; they are not personal data.
    return _PHONE.sub(lambda m: m.group(0) if _DATE.fullmatch(m.group(0)) else "[PHONE]", text)


_NAME = re.compile(r"(?<=[\w,] )[A-Z][a-z][\w'-]*")


def ungrounded_names(request: str, response: str) -> list[str]:
    """Proper names in ``response`` (capitalised words inside a sentence) absent from ``request``.

    A worked example is shown without the documents its trace retrieved: a name it cannot be
    traced to in its request teaches a model to invent names (recipients, people, products).
    """
    seen = {word.lower() for word in re.findall(r"[\w'-]+", request)}
    return sorted({name for name in _NAME.findall(response) if name.lower() not in seen})


def tokens(text: str) -> list[str]:
    return [word for word in _WORD.findall(text.lower()) if word not in STOPWORDS]


def normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def request_of(trace: Trace) -> str:
    return trace.input_text.strip()


def router_output(trace: Trace) -> dict[str, Any] | None:
    """The first router step's output (``{"route", ...}``), if the trace has one."""
    for step in trace.steps:
        if step.type is StepType.router and isinstance(step.output, dict):
            return step.output
    return None


def complaints(trace: Trace) -> list[str]:
    return [fb.comment for fb in trace.feedback if fb.comment]


def similarity_matrix(left: Sequence[str], right: Sequence[str]) -> npt.NDArray[np.float64]:
    """TF-IDF cosine similarity (word unigrams and bigrams) of every left text to every right."""
    if not left or not right:
        return np.zeros((len(left), len(right)))
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words=None)
    matrix = vectoriser.fit_transform(list(left) + list(right))
    sims = (matrix[: len(left)] @ matrix[len(left) :].T).toarray()
    return np.asarray(sims, dtype=np.float64)


def approx_tokens(text: str) -> int:
    """A provider-independent token estimate (about 4 characters per token)."""
    return max(1, len(text) // 4)
