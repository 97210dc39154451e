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
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flywheel.formats._source import (
    Record,
    Rejected,
    TraceSource,
    build_trace,
    validation_rejection,
)
from flywheel.trace import Step, StepType

USER_ROLES = frozenset({"user", "human"})
SYSTEM_ROLES = frozenset({"system", "developer"})
TOOL_ROLES = frozenset({"tool", "function"})
MODEL_ROLES = frozenset({"assistant", "ai", "model"})
#: "Orchestrator (thought)", "Orchestrator (-> WebSurfer)": an agent and what the turn is.
_AGENT_ROLE = re.compile(r"^(?P<agent>[^()]+?)\s*\((?P<detail>[^()]*)\)\s*$")
_ID_KEYS = ("id", "conversation_id")
_SHAPE_HINT = (
    "expected a conversation: a list of messages with 'role' and 'content', "
    "or an object with a 'messages' list"
)


class ChatFunction(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    arguments: str | dict[str, Any] | None = None

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_shape(cls, value: object) -> object:
        if value is None or isinstance(value, str | dict):
            return value
        raise ValueError(f"must be a JSON string or an object, not {type(value).__name__}")


class ChatToolCall(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = None
    type: str = "function"
    function: ChatFunction


class ChatMessage(BaseModel):
    """One OpenAI-style message; unknown keys (``index``, ``refusal``...) are kept."""

    model_config = ConfigDict(extra="allow")

    role: str = Field(min_length=1)
    content: str | list[Any] | None = None
    name: str | None = None
    tool_calls: list[ChatToolCall] | None = None
    tool_call_id: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _content_shape(cls, value: object) -> object:
        # Checked here so that the error names the field, not pydantic's union branches.
        if value is None or isinstance(value, str | list):
            return value
        raise ValueError(
            f"must be a string, a list of content parts or null, not {type(value).__name__}"
        )


# -- detection helpers (shared with the tau-bench format) -----------------------------------


def head_text(head: bytes) -> str:
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def looks_native(text: str) -> bool:
    """The first line is a native trace record (``trace_id`` and ``input`` keys)."""
    first = text.split("\n", 1)[0]
    return first.startswith("{") and '"trace_id"' in first and '"input"' in first


def first_value(text: str) -> Any:
    """The first record of a JSON document or JSONL file in ``text``, or None if cut off."""
    decoder = json.JSONDecoder()
    try:
        if text.startswith("["):
            return decoder.raw_decode(text, _skip_ws(text, 1))[0]
        if text.startswith("{"):
            try:
                return orjson.loads(text.split("\n", 1)[0])
            except orjson.JSONDecodeError:
                return decoder.raw_decode(text)[0]
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


def _is_conversation(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and is_message(value[0])
    if isinstance(value, dict):
        found = _messages_of(value)
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


def _messages_of(data: dict[str, Any]) -> tuple[str, list[Any]] | None:
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


# -- messages -> steps ------------------------------------------------------------------------


def parse_messages(
    items: Sequence[tuple[int, Any]], *, file: str, raw: bytes, prefix: str
) -> list[ChatMessage] | Rejected:
    """Validate ``(line, message)`` pairs; the first bad one rejects the whole conversation."""
    if not items:
        return Rejected(file, None, "the conversation has no messages", field=prefix.rstrip("."))
    messages: list[ChatMessage] = []
    for index, (line, value) in enumerate(items):
        try:
            messages.append(ChatMessage.model_validate(value))
        except ValidationError as exc:
            rejected = validation_rejection(
                exc, file=file, line=line, raw=raw, prefix=f"{prefix}{index}."
            )
            # A message that is not an object at all has an empty location.
            field = (rejected.field or "").rstrip(".") or None
            return Rejected(rejected.file, rejected.line, rejected.reason, field, rejected.raw)
    return messages


def conversation_steps(
    messages: Sequence[ChatMessage], *, tool_error_prefix: str | None = None
) -> list[Step]:
    """One step per message (ids are 1-based positions), one child step per tool call.

    A tool message fills in the output of the tool step whose call id it answers; one that
    answers no known call becomes a tool step of its own. With ``tool_error_prefix``, a tool
    result starting with it (tau-bench's ``"Error: ..."``) is also recorded as the step's error.
    """
    steps: list[Step] = []
    pending: dict[str, Step] = {}
    for number, message in enumerate(messages, start=1):
        step_id = str(number)
        extra = {k: v for k, v in (message.model_extra or {}).items() if v is not None}
        role = message.role.strip()
        lowered = role.lower()
        if lowered in TOOL_ROLES:
            answered = pending.pop(message.tool_call_id or "", None)
            if answered is not None:
                answered.output = message.content
                answered.error = _tool_error(message.content, tool_error_prefix)
                answered.metadata["result_message"] = number
                continue
            metadata = {"role": role, **extra}
            if message.tool_call_id:
                metadata["tool_call_id"] = message.tool_call_id
                metadata["unmatched"] = True
            steps.append(
                Step(
                    id=step_id,
                    type=StepType.tool,
                    name=message.name or "tool",
                    output=message.content,
                    error=_tool_error(message.content, tool_error_prefix),
                    metadata=metadata,
                )
            )
            continue
        steps.append(_turn_step(step_id, role, message, extra))
        for j, call in enumerate(message.tool_calls or [], start=1):
            arguments, bad_json = _arguments(call.function.arguments)
            metadata = {"tool_call_id": call.id} if call.id else {}
            if bad_json:
                metadata["arguments_not_json"] = True
            tool = Step(
                id=f"{step_id}.{j}",
                parent_id=step_id,
                type=StepType.tool,
                name=call.function.name,
                input=arguments,
                metadata=metadata,
            )
            steps.append(tool)
            if call.id:
                pending[call.id] = tool
    return steps


def _turn_step(step_id: str, role: str, message: ChatMessage, extra: dict[str, Any]) -> Step:
    lowered = role.lower()
    metadata: dict[str, Any] = {"role": role, **extra}
    if lowered in USER_ROLES or lowered in SYSTEM_ROLES:
        name = message.name or lowered
        return Step(
            id=step_id, type=StepType.other, name=name, input=message.content, metadata=metadata
        )
    if lowered in MODEL_ROLES and not message.name:
        return Step(
            id=step_id, type=StepType.llm, name=role, output=message.content, metadata=metadata
        )
    agent = message.name or role
    match = _AGENT_ROLE.match(role)
    if match and not message.name:
        agent = match["agent"].strip()
        detail = match["detail"].strip()
        if detail.startswith("->"):
            metadata["handoff_to"] = detail[2:].strip()
        elif detail:
            metadata["kind"] = detail
    metadata["agent"] = agent
    return Step(
        id=step_id, type=StepType.agent, name=agent, output=message.content, metadata=metadata
    )


def _arguments(value: str | dict[str, Any] | None) -> tuple[Any, bool]:
    if not isinstance(value, str):
        return value, False
    try:
        return json.loads(value), False
    except json.JSONDecodeError:
        return value, True


def _tool_error(content: str | list[Any] | None, prefix: str | None) -> str | None:
    if prefix and isinstance(content, str) and content.startswith(prefix):
        return content
    return None


def conversation_input(messages: Sequence[ChatMessage]) -> str | list[Any] | dict[str, Any]:
    """The first user message's content; for a transcript without one, its first message."""
    for message in messages:
        if message.role.strip().lower() in USER_ROLES and message.content:
            return message.content
    first = messages[0]
    if first.content:
        return first.content
    return first.model_dump(mode="json", exclude_none=True)


def conversation_output(messages: Sequence[ChatMessage]) -> str | list[Any] | None:
    """The last content said by anyone but the user, the system or a tool."""
    skip = USER_ROLES | SYSTEM_ROLES | TOOL_ROLES
    for message in reversed(messages):
        if message.role.strip().lower() not in skip and message.content:
            return message.content
    return None


def agent_names(steps: Sequence[Step]) -> list[str]:
    return sorted({step.name for step in steps if step.type is StepType.agent})


# -- the format ---------------------------------------------------------------------------------


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
            return is_message(value) or _is_conversation(value)
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
        if good and isinstance(good[0][1], dict) and _messages_of(good[0][1]) is None:
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
        found = _messages_of(data)
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
