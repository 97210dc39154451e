"""Chat messages read into steps: the OpenAI message model, the role vocabularies, and the
conversation's steps, input and output.

Shared by the chat, tau-bench, tau2 and Inspect AI formats (re-exported by
`flywheel.formats.chat`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flywheel.formats._source import (
    Rejected,
    validation_rejection,
)
from flywheel.trace import Step, StepType

USER_ROLES = frozenset({"user", "human"})
SYSTEM_ROLES = frozenset({"system", "developer"})
TOOL_ROLES = frozenset({"tool", "function"})
MODEL_ROLES = frozenset({"assistant", "ai", "model"})
#: "Orchestrator (thought)", "Orchestrator (-> WebSurfer)": an agent and what the turn is.
_AGENT_ROLE = re.compile(r"^(?P<agent>[^()]+?)\s*\((?P<detail>[^()]*)\)\s*$")


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
