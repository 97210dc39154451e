"""Rebuild an OpenAI-style chat from a stored trace: the request, each top-level tool call
with its result, and the final answer."""

from __future__ import annotations

import json
from typing import Any

from flywheel.export._formats import ChatMessage, FunctionCall, ToolCall
from flywheel.trace import StepType, Trace


class Unrebuildable(Exception):
    """The trace cannot be turned into a valid chat; ``reason`` is counted in the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def tool_messages(trace: Trace) -> list[ChatMessage]:
    """Tool calls (one assistant message each) and their results, in step order.

    Nested tool steps (a tool's own sub-calls) are the tool's business, not the model's: only
    tool steps whose parent is not a tool are kept.
    """
    tool_ids = {step.id for step in trace.steps if step.type is StepType.tool}
    messages: list[ChatMessage] = []
    for step in trace.steps:
        if step.type is not StepType.tool or step.parent_id in tool_ids:
            continue
        if not step.name:
            raise Unrebuildable("tool step without a name")
        call_id = f"call_{len(messages) // 2 + 1}"
        arguments = step.input if isinstance(step.input, dict) else {"input": step.input}
        messages.append(
            ChatMessage(
                role="assistant",
                tool_calls=[
                    ToolCall(
                        id=call_id,
                        function=FunctionCall(name=step.name, arguments=_json(arguments)),
                    )
                ],
            )
        )
        if step.error:
            result = f"error: {step.error}"
        elif isinstance(step.output, str):
            result = step.output
        else:
            result = _json(step.output)
        messages.append(ChatMessage(role="tool", tool_call_id=call_id, content=result or "null"))
    return messages


def request_message(trace: Trace) -> ChatMessage:
    text = trace.input_text.strip()
    if not text:
        raise Unrebuildable("empty request")
    return ChatMessage(role="user", content=text)


def chat_from_trace(trace: Trace, *, answer: str | None = None) -> list[ChatMessage]:
    """The chat of ``trace``: request, tool calls and results, then ``answer`` (default: the
    trace's own output)."""
    final = (answer if answer is not None else trace.output_text).strip()
    if not final:
        raise Unrebuildable("no final answer")
    messages = [request_message(trace), *tool_messages(trace)]
    messages.append(ChatMessage(role="assistant", content=final))
    return messages
