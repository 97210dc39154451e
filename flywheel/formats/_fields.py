"""Field helpers for the formats that walk nested producer records (OTLP, LangSmith, Langfuse).

A converter raises `BadField` deep inside a record; the format's ``read`` turns it into a
`Rejected` naming the field path, so the rest of the file still ingests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


class BadField(Exception):
    """A field of a producer record is missing or has the wrong type."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def field_path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def list_field(value: Any, where: str) -> list[Any]:
    """A list (absent means empty); anything else is a `BadField`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadField(where, f"expected a list, got {type(value).__name__}")
    return value


def timestamp_field(value: Any, where: str) -> datetime | None:
    """ISO 8601 (naive means UTC) or epoch seconds / ms / µs / ns, as an aware datetime."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
            while seconds > 1e11:  # ms, µs or ns since the epoch
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise BadField(where, f"expected an ISO 8601 timestamp, got {value!r}")


_AI_TYPES = {"ai", "assistant", "aimessage", "aimessagechunk", "model"}


def answer(output: Any) -> Any:
    """The AI's reply in a trace's output when the output holds one, else the output.

    Producers often record the whole state as the output: an OpenAI completion (the first
    choice), LangChain ``generations``, a ``messages`` list that still holds the user's turn
    (the last ``ai`` / ``assistant`` message), Gemini ``candidates`` / ``content.parts``, an
    Anthropic message's ``content`` blocks, or a list of OpenTelemetry GenAI messages
    (``role`` + ``parts``). Read as text, those joined the user's words with the reply.
    """
    if isinstance(output, list) and output and all(isinstance(m, dict) for m in output):
        text = _last_ai_text(output)
        return output if text is None else text
    if not isinstance(output, dict):
        return output
    for reader in _REPLY_READERS:
        text = reader(output)
        if text is not None:
            return text
    return output


def _last_ai_text(messages: list[Any]) -> str | None:
    """The text of the last ``ai`` / ``assistant`` message that has one."""
    for message in reversed(messages):
        if _is_ai(message):
            text = _message_text(message)
            if text is not None:
                return text
    return None


def _gemini_reply(output: dict[str, Any]) -> str | None:
    candidates = output.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return _message_text(candidates[0].get("content"))
    return None


def _content_reply(output: dict[str, Any]) -> str | None:
    """An Anthropic message (``content`` blocks) or a Gemini ``content.parts``."""
    content = output.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return _message_text(output)
    if isinstance(content, dict) and isinstance(content.get("parts"), list):
        return _message_text(content)
    return None


def _openai_reply(output: dict[str, Any]) -> str | None:
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return _message_text(choices[0].get("message")) or _message_text(choices[0])
    return None


def _langchain_reply(output: dict[str, Any]) -> str | None:
    generations = output.get("generations")
    while isinstance(generations, list) and generations:
        generations = generations[0]
    if isinstance(generations, dict):
        text = generations.get("text")
        return text if isinstance(text, str) and text else _message_text(generations.get("message"))
    return None


def _messages_reply(output: dict[str, Any]) -> str | None:
    messages = output.get("messages")
    return _last_ai_text(messages) if isinstance(messages, list) else None


#: The producer shapes `answer` reads, in the order it tries them.
_REPLY_READERS: tuple[Callable[[dict[str, Any]], str | None], ...] = (
    _gemini_reply,
    _content_reply,
    _openai_reply,
    _langchain_reply,
    _messages_reply,
)


def _is_ai(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    kind = message.get("role") or message.get("type")
    ident = message.get("id")
    if kind == "constructor" and isinstance(ident, list) and ident:
        kind = ident[-1]
    return str(kind).lower() in _AI_TYPES


def _message_text(message: Any) -> str | None:
    if isinstance(message, dict) and isinstance(message.get("kwargs"), dict):
        message = message["kwargs"]  # a LangChain-serialised message
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    if content is None and isinstance(message.get("parts"), list):
        content = message["parts"]  # Gemini and OpenTelemetry GenAI messages
    if isinstance(content, list):
        parts = [
            p.get("text") if isinstance(p.get("text"), str) else p.get("content")
            for p in content
            if isinstance(p, dict) and p.get("type", "text") in ("text", "output_text")
        ]
        content = "\n".join(p for p in parts if isinstance(p, str)) or None
    if isinstance(content, str) and content:
        return content
    return None
