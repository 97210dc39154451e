"""The schemas of the exported records; every record is validated against one before writing.

- SFT: OpenAI chat fine-tuning JSONL, ``{"messages": [...]}`` with assistant ``tool_calls``
  (``arguments`` a JSON string) answered by ``tool`` messages carrying ``tool_call_id``.
- Preference: the conversational prompt / chosen / rejected form TRL's ``DPOTrainer`` reads.
- Eval: one eval case per line.
Every record carries ``provenance``; extra keys are refused.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flywheel.datasets import Provenance

#: Version of the exported record shapes (written into the dataset card).
EXPORT_SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FunctionCall(_Strict):
    name: str = Field(min_length=1)
    #: JSON text of the arguments object, as the OpenAI format wants it.
    arguments: str

    @model_validator(mode="after")
    def _arguments_are_json(self) -> FunctionCall:
        try:
            json.loads(self.arguments)
        except ValueError as exc:
            raise ValueError(f"tool call arguments are not JSON: {exc}") from None
        return self


class ToolCall(_Strict):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> ChatMessage:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        if self.role != "assistant" and self.tool_calls:
            raise ValueError(f"a {self.role} message cannot carry tool_calls")
        if self.role != "tool" and self.tool_call_id:
            raise ValueError(f"a {self.role} message cannot carry tool_call_id")
        if not self.tool_calls and not (self.content or "").strip():
            raise ValueError(f"a {self.role} message needs content")
        return self


class SFTRecord(_Strict):
    messages: list[ChatMessage] = Field(min_length=2)
    provenance: Provenance

    @model_validator(mode="after")
    def _valid_chat(self) -> SFTRecord:
        roles = [m.role for m in self.messages if m.role != "system"]
        if not roles or roles[0] != "user":
            raise ValueError("the conversation must start with a user message")
        last = self.messages[-1]
        if last.role != "assistant" or last.tool_calls or not last.content:
            raise ValueError("the conversation must end with an assistant answer")
        pending: set[str] = set()
        for message in self.messages:
            if message.tool_calls:
                pending |= {call.id for call in message.tool_calls}
            elif message.role == "tool":
                if message.tool_call_id not in pending:
                    raise ValueError(f"tool result {message.tool_call_id} answers no tool call")
                pending.discard(message.tool_call_id)
        if pending:
            raise ValueError(f"tool calls without a result: {', '.join(sorted(pending))}")
        return self


class PreferenceRecord(_Strict):
    prompt: list[ChatMessage] = Field(min_length=1)
    chosen: list[ChatMessage] = Field(min_length=1, max_length=1)
    rejected: list[ChatMessage] = Field(min_length=1, max_length=1)
    provenance: Provenance

    @model_validator(mode="after")
    def _valid_pair(self) -> PreferenceRecord:
        if self.prompt[-1].role != "user":
            raise ValueError("the prompt must end with the user's request")
        for side in (self.chosen[0], self.rejected[0]):
            if side.role != "assistant" or not side.content:
                raise ValueError("chosen and rejected must be assistant answers with content")
        if self.chosen[0].content == self.rejected[0].content:
            raise ValueError("chosen and rejected are the same answer")
        return self


class EvalRecord(_Strict):
    case_id: str
    role: str
    tags: list[str]
    input: str | dict[str, Any] | list[Any]
    expected: dict[str, Any]
    origin: dict[str, Any]
    added_by: str
    added_at: str
    set_version: str | None
    provenance: Provenance


def dump_record(record: BaseModel) -> dict[str, Any]:
    """The JSON form written to the file: absent optional message fields left out, every
    provenance field present (null when unknown) so all records share one shape."""
    data = record.model_dump(mode="json", exclude_none=True)
    provenance = getattr(record, "provenance", None)
    if isinstance(provenance, Provenance):
        data["provenance"] = provenance.model_dump(mode="json")
    return data
