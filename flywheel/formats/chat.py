"""Chat transcripts: OpenAI-format message lists and the step lists of multi-agent frameworks.

Accepted shapes, as one JSON document or as JSONL (one conversation per line):

- a list of messages ``[{"role", "content", "tool_calls"?, "tool_call_id"?, "name"?}, ...]``;
- an object ``{"messages": [...], "id"?: ...}`` as in OpenAI fine-tuning files (other keys
  go to the trace's metadata), or with the messages under ``history`` (SWE-agent
  demonstrations, agent frameworks' logs);
- ShareGPT: ``{"id"?, "conversations": [{"from": "human" | "gpt" | "system" | "tool"...,
  "value": ...}]}``, each turn read as the message ``{"role", "content"}`` (``human`` is the
  user, ``gpt`` the assistant, ``function_call`` an assistant's tool call, ``observation`` /
  ``function_response`` the tool's answer);
- a JSON list of such conversations.

Multi-agent step lists (Magentic-One, AutoGen) use the agent as the role, e.g. ``"WebSurfer"``,
``"Orchestrator (thought)"`` or ``"Orchestrator (-> WebSurfer)"``: each turn becomes an
``agent`` step named after the agent, with the detail in brackets kept in its metadata.

Trace id: the record's ``id`` (or ``conversation_id``); else the file stem when the file holds a
single conversation (a Magentic-One trajectory file is named after its trajectory id); else
``{stem}-{line}``. Input: the first user message; output: the last message with content from
anyone but the user, the system or a tool. A transcript without a user message (a partial one,
such as AgentRx's ``tools_structure.json``) is still accepted: its input is its first message.

The message helpers here are shared with the tau-bench format, whose runs are OpenAI chats.
They live in `flywheel.formats._chat_messages` (messages into steps) and
`flywheel.formats._chat_shapes` (recognising a chat file); this module is the format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flywheel.formats._chat_messages import (
    MODEL_ROLES,
    SYSTEM_ROLES,
    TOOL_ROLES,
    USER_ROLES,
    ChatFunction,
    ChatMessage,
    ChatToolCall,
    agent_names,
    conversation_input,
    conversation_output,
    conversation_steps,
    parse_messages,
)
from flywheel.formats._chat_shapes import (
    file_stem,
    first_value,
    head_text,
    is_conversation,
    is_json_lines,
    is_message,
    looks_native,
    messages_of,
)
from flywheel.formats._source import (
    Record,
    Rejected,
    TraceSource,
    build_trace,
)

_ID_KEYS = ("id", "conversation_id")
_SHAPE_HINT = (
    "expected a conversation: a list of messages with 'role' and 'content', "
    "or an object with a 'messages' list"
)


class ChatFormat:
    name = "chat"

    def sniff(self, source: TraceSource, head: bytes) -> float:
        # Messages are everywhere: a format with its own keys that also matches reads better.
        return 0.7 if self._looks_like_chat(head) else 0.0

    def _looks_like_chat(self, head: bytes) -> bool:
        text = head_text(head)
        if not text.startswith(("[", "{")) or looks_native(text):
            return False
        value = first_value(text)
        if value is not None:
            return is_message(value) or is_conversation(value)
        # The first record is longer than the head: judge by how the file opens.
        if re.match(r'\[?\s*\{[^\n]*?"conversations"\s*:\s*\[\s*\{\s*"from"', text):
            return True
        return '"role"' in text and (
            re.match(r'\[\s*\[?\s*\{\s*"(role|content|name)"\s*:', text) is not None
            or re.match(r'\{[^\n]*?"(messages|history)"\s*:\s*\[\s*\{', text) is not None
        )

    def read(self, source: TraceSource) -> Iterator[Record]:
        stem = file_stem(source)
        if is_json_lines(source):
            for item in source.json_lines():
                if isinstance(item, Rejected):
                    yield item
                    continue
                line, data, raw = item
                yield self._conversation(source, data, line, raw, default_id=f"{stem}-{line}")
            return
        records = list(source.json_records())
        if not records:
            yield Rejected(source.name, 1, f"the document is empty; {_SHAPE_HINT}")
            return
        good = [item for item in records if not isinstance(item, Rejected)]
        if good and isinstance(good[0][1], dict) and messages_of(good[0][1]) is None:
            yield self._message_list(source, records, stem)
            return
        many = len(records) > 1
        for item in records:
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            default_id = f"{stem}-{line}" if many else stem
            yield self._conversation(source, data, line, raw, default_id=default_id)

    def _message_list(
        self, source: TraceSource, records: list[tuple[int, Any, bytes] | Rejected], stem: str
    ) -> Record:
        """A document that is one list of messages (a Magentic-One or AutoGen trajectory)."""
        raw = source.head(4096)
        items: list[tuple[int, Any]] = []
        for item in records:
            if isinstance(item, Rejected):
                return Rejected(
                    item.file, item.line, f"the conversation is cut short: {item.reason}", raw=raw
                )
            items.append((item[0], item[1]))
        first_line, first = items[0]
        if not isinstance(first, dict) or "role" not in first:
            keys = ", ".join(list(first)[:5]) if isinstance(first, dict) else type(first).__name__
            return Rejected(
                source.name,
                first_line,
                f"{_SHAPE_HINT}; found an object with keys {keys} (is this a trace file?)",
                raw=raw,
            )
        return self._build(source, items, {}, first_line, raw, trace_id=stem, prefix="")

    def _conversation(
        self, source: TraceSource, data: Any, line: int, raw: bytes, *, default_id: str
    ) -> Record:
        if isinstance(data, list):
            items = [(line, message) for message in data]
            return self._build(source, items, {}, line, raw, trace_id=default_id, prefix="")
        if not isinstance(data, dict):
            return Rejected(source.name, line, f"{_SHAPE_HINT}; got {type(data).__name__}", raw=raw)
        found = messages_of(data)
        if found is None:
            if "messages" in data:
                return Rejected(
                    source.name, line, "must be a list of messages", field="messages", raw=raw
                )
            hint = "a single message, not a conversation" if is_message(data) else None
            keys = ", ".join(list(data)[:5])
            reason = hint or f"found an object with keys {keys}"
            return Rejected(source.name, line, f"{_SHAPE_HINT}; {reason}", raw=raw)
        messages_key, messages = found
        trace_id = default_id
        rest = {k: v for k, v in data.items() if k != messages_key}
        for key in _ID_KEYS:
            if key in rest:
                value = rest.pop(key)
                if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
                    return Rejected(
                        source.name,
                        line,
                        "must be a non-empty string or an integer",
                        field=key,
                        raw=raw,
                    )
                trace_id = str(value)
                break
        metadata = rest.pop("metadata", None)
        extra = {**(metadata if isinstance(metadata, dict) else {}), **rest}
        if metadata is not None and not isinstance(metadata, dict):
            extra["metadata"] = metadata
        items = [(line, message) for message in messages]
        return self._build(
            source, items, extra, line, raw, trace_id=trace_id, prefix=f"{messages_key}."
        )

    def _build(
        self,
        source: TraceSource,
        items: list[tuple[int, Any]],
        metadata: dict[str, Any],
        line: int,
        raw: bytes,
        *,
        trace_id: str,
        prefix: str,
    ) -> Record:
        parsed = parse_messages(items, file=source.name, raw=raw, prefix=prefix)
        if isinstance(parsed, Rejected):
            if parsed.line is None:
                return Rejected(parsed.file, line, parsed.reason, field=parsed.field, raw=raw)
            return parsed
        steps = conversation_steps(parsed)
        agents = agent_names(steps)
        if agents:
            metadata = {**metadata, "agents": agents}
        data = {
            "trace_id": trace_id,
            "input": conversation_input(parsed),
            "output": conversation_output(parsed),
            "steps": steps,
            "metadata": metadata,
        }
        return build_trace(data, file=source.name, line=line, raw=raw)


__all__ = [
    "MODEL_ROLES",
    "SYSTEM_ROLES",
    "TOOL_ROLES",
    "USER_ROLES",
    "ChatFormat",
    "ChatFunction",
    "ChatMessage",
    "ChatToolCall",
    "agent_names",
    "conversation_input",
    "conversation_output",
    "conversation_steps",
    "file_stem",
    "first_value",
    "head_text",
    "is_json_lines",
    "is_message",
    "looks_native",
    "parse_messages",
]
