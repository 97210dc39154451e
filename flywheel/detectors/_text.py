"""Text helpers shared by the readers and the detectors: words, dates, JSON, messages."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

_WORD = re.compile(r"[a-z][a-z']{2,}")
_TOKEN = re.compile(r"\w+")
_STOP_WORDS = (
    "the and for with from that this what your our you are was were has have had not but "
    "about into over also its their them they his her she him who whom which when where why "
    "how all any can could would should will may might must been being than then there here "
    "these those such per via use used using"
)
_STOP = frozenset(_STOP_WORDS.split())
_SLASHED = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
#: Unix seconds between 1990 and 2100: numbers outside are not timestamps.
_EPOCH_RANGE = (631_152_000, 4_102_444_800)


def words(text: str) -> frozenset[str]:
    """Content words of ``text`` (lower-cased, three letters or more, no stop words)."""
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def idf(documents: Iterable[frozenset[str]]) -> dict[str, float]:
    """Inverse document frequency over a few texts: words they share weigh little."""
    docs = list(documents)
    frequency: Counter[str] = Counter(word for doc in docs for word in doc)
    return {word: math.log(len(docs) / n) for word, n in frequency.items()}


def overlap(doc: frozenset[str], answer: frozenset[str], weights: dict[str, float]) -> float:
    """Share of the document's (IDF-weighted) words that the answer uses."""
    total = sum(weights.get(w, 0.0) for w in doc)
    return sum(weights.get(w, 0.0) for w in doc & answer) / total if total else 0.0


def to_day(value: Any) -> date | None:
    """A calendar day from an ISO date / datetime, ``YYYY/MM/DD``, or epoch seconds / ms."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
        while seconds > _EPOCH_RANGE[1]:  # milliseconds, microseconds
            seconds /= 1000
        if _EPOCH_RANGE[0] <= seconds <= _EPOCH_RANGE[1]:
            return datetime.fromtimestamp(seconds, UTC).date()
        return None
    if not isinstance(value, str) or len(value) < 8:
        return None
    text = value.strip()
    slashed = _SLASHED.match(text)
    try:
        if slashed:
            return date(*(int(part) for part in slashed.groups()))
        return datetime.fromisoformat(text[:10]).date()
    except ValueError:
        return None


def decoded(value: Any) -> Any:
    """``value``, or what it holds when it is a JSON object or array written as a string."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def canonical(value: Any) -> str:
    """A stable short text of any value (for comparing tool calls)."""
    try:
        return json.dumps(value, sort_keys=True, default=str)[:500]
    except (TypeError, ValueError):
        return str(value)[:500]


def message_role(message: dict[str, Any]) -> str:
    """The role of a chat message in the OpenAI, OpenInference or LangChain shape."""
    role = message.get("role") or message.get("message.role") or message.get("type")
    ident = message.get("id")
    if isinstance(ident, list) and ident:  # LangChain serialised: [..., "HumanMessage"]
        role = str(ident[-1])
    text = str(role or "").lower()
    if text in ("human", "humanmessage", "user"):
        return "user"
    if text in ("ai", "aimessage", "assistant", "model", "bot"):
        return "assistant"
    if text in ("system", "systemmessage", "developer"):
        return "system"
    return text or "user"


def message_text(message: Any) -> str:
    """The text of a chat message (string content, content parts, LangChain kwargs)."""
    if isinstance(message, str):
        return message
    if not isinstance(message, dict):
        return ""
    kwargs = message.get("kwargs")
    if isinstance(kwargs, dict):
        return message_text(kwargs)
    for key in ("content", "message.content", "text", "value"):
        content = message.get(key)
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            parts = [p.get("text") if isinstance(p, dict) else p for p in content]
            return " ".join(p for p in parts if isinstance(p, str))
    return ""


def as_words(text: str) -> list[str]:
    """Every word token of ``text`` (letters, digits, underscores), in order."""
    return _TOKEN.findall(text)
