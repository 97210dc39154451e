"""Recognising chat files: peeking at a file's head, and finding the message list in a record
(OpenAI ``messages``, ``history``, ShareGPT ``conversations``).

The head helpers are shared with the other formats (re-exported by `flywheel.formats.chat`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from flywheel.formats._source import (
    _NOT_FAST,
    Rejected,
    TraceSource,
    loads_exactly,
)


def head_text(head: bytes) -> str:
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def looks_native(text: str) -> bool:
    """The first line is a native trace record (``trace_id`` and ``input`` keys)."""
    first = text.split("\n", 1)[0]
    return first.startswith("{") and '"trace_id"' in first and '"input"' in first


_DECODER = json.JSONDecoder()


def first_value(text: str) -> Any:
    """The first record of a JSON document or JSONL file in ``text``, or None if cut off."""
    decoder = _DECODER
    try:
        if text.startswith("["):
            return decoder.raw_decode(text, _skip_ws(text, 1))[0]
        if text.startswith("{"):
            try:
                return orjson.loads(text.split("\n", 1)[0])
            except orjson.JSONDecodeError:
                pass
            whole = loads_exactly(text.encode())  # a whole small document: as json reads it
            return decoder.raw_decode(text)[0] if whole is _NOT_FAST else whole
    except (json.JSONDecodeError, IndexError):
        return None
    return None


def is_json_lines(source: TraceSource) -> bool:
    """Two or more non-blank lines, the first of which is a whole JSON value on its own."""
    first: bytes | None = None
    for item in source.lines():
        if isinstance(item, Rejected):
            return False
        if first is not None:
            return True
        first = item[1]
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            return False
    return False


def file_stem(source: TraceSource) -> str:
    name = source.path.name
    for suffix in (".gz", ".jsonl", ".ndjson", ".json", ".traj"):
        name = name.removesuffix(suffix)
    return name or source.path.name


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def is_message(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("role"), str)


def is_conversation(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and is_message(value[0])
    if isinstance(value, dict):
        found = messages_of(value)
        return found is not None and bool(found[1]) and is_message(found[1][0])
    return False


#: Where a conversation object keeps its messages, most common first.
_MESSAGE_KEYS = ("messages", "conversations", "history")
#: ShareGPT speakers as chat roles.
_SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "function_call": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
    "function_response": "tool",
}


def messages_of(data: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """The key and the messages of a conversation object (ShareGPT turns as messages)."""
    for key in _MESSAGE_KEYS:
        value = data.get(key)
        if not isinstance(value, list):
            continue
        first = value[0] if value else None
        if key == "conversations" and isinstance(first, dict) and "from" in first:
            return key, [_sharegpt_turn(turn) for turn in value]
        if key != "history" or not value or is_message(value[0]):
            return key, value
    return None


def _sharegpt_turn(turn: Any) -> Any:
    if not isinstance(turn, dict) or "from" not in turn:
        return turn
    speaker = str(turn["from"])
    rest = {k: v for k, v in turn.items() if k not in ("from", "value")}
    role = _SHAREGPT_ROLES.get(speaker.lower(), speaker)
    value = turn.get("value")
    if speaker.lower() == "function_call" and isinstance(value, str):
        try:
            call = json.loads(value)
        except ValueError:
            call = None
        if isinstance(call, dict) and isinstance(call.get("name"), str) and call["name"]:
            arguments = call.get("arguments")
            function = {"name": call["name"], "arguments": arguments}
            if not isinstance(arguments, str | dict):
                function["arguments"] = json.dumps(arguments)
            return {"role": role, "content": None, "tool_calls": [{"function": function}], **rest}
    return {"role": role, "content": value, **rest}
