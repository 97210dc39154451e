"""Earlier turns, truncation notices and tool schemas, read from any of the usual conventions.

- Earlier turns: ``history`` / ``chat_history`` / ``conversation`` / ``previous_turns``... in
  the trace's input or metadata; a chat ``messages`` list (OpenAI, LangChain serialised, or
  OpenInference ``llm.input_messages``, decoded or still flat in a step's attributes), whose
  user and assistant messages before the last user message are the earlier turns.
- Truncation: a context builder saying what it dropped (``truncated: true``,
  ``dropped_documents: 3``, ``omitted: [...]``), in its metadata or output; a step that
  received more candidate documents than it passed on; a notice in a step's text
  ("context window exceeded", "2 documents omitted", "[truncated]").
- Tool schemas: ``tools`` / ``functions`` / ``tool_schemas`` / ``available_tools`` (OpenAI,
  Anthropic ``input_schema``, LangSmith ``invocation_params``) in the trace or an LLM step,
  OpenInference ``llm.tools.N.tool.json_schema``, and a tool span's ``tool.parameters``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flywheel.detectors._text import decoded, message_role, message_text
from flywheel.trace import Step, StepType, Trace, as_text

HISTORY_KEYS = (
    "history",
    "chat_history",
    "conversation",
    "conversation_history",
    "previous_turns",
    "prior_turns",
    "previous_messages",
    "past_messages",
    "turns",
    "thread",
    "memory",
)
_FLAT_MESSAGE = re.compile(r"^llm\.input_messages\.(\d+)\.message\.(\w+)$")
_TRUNCATED_FLAGS = (
    "truncated",
    "was_truncated",
    "is_truncated",
    "context_truncated",
    "truncation",
    "overflow",
)
_DROPPED_KEYS = (
    "dropped",
    "dropped_documents",
    "dropped_docs",
    "documents_dropped",
    "docs_dropped",
    "n_dropped",
    "num_dropped",
    "omitted",
    "omitted_documents",
    "removed",
    "pruned",
    "evicted",
)
_KEPT_KEYS = ("context", "documents", "docs", "chunks", "passages", "kept", "selected", "results")
_GIVEN_KEYS = ("candidates", "documents", "docs", "chunks", "passages", "results", "context")
_TRUNCATION_TEXT = re.compile(
    r"(?i)\[(?:\.\.\.\s*)?truncated\]|\btruncated (?:to|at|after) \d+|"
    r"context (?:window|length) (?:exceeded|overflow)|"
    r"exceed(?:s|ed)? (?:the )?(?:maximum |max )?(?:context|token) (?:length|window|limit)|"
    r"\b\d+ (?:documents?|docs|chunks|passages|messages|turns|results) "
    r"(?:were |was )?(?:dropped|omitted|removed|truncated|cut)\b"
)
_SCHEMA_LISTS = ("tools", "functions", "tool_schemas", "available_tools", "tool_definitions")
_FLAT_TOOL = re.compile(r"^llm\.tools\.(\d+)\.tool\.json_schema$")
_ARGUMENT_KEYS = ("arguments", "args", "tool_input", "kwargs", "parameters", "input")


@dataclass(frozen=True)
class Notice:
    """A truncation notice: which step said it, and what."""

    step_id: str
    evidence: str


def earlier_turns(trace: Trace) -> list[str]:
    """The texts of the turns before the current request, from any convention."""
    for holder in (trace.input, trace.metadata):
        if isinstance(holder, dict):
            for key in HISTORY_KEYS:
                value = decoded(holder.get(key))
                if isinstance(value, list) and value:
                    return [t for t in (_turn_text(item) for item in value) if t]
                if isinstance(value, str) and value.strip():
                    return [value]
    for messages in _message_lists(trace):
        turns = _before_last_user(messages)
        if turns:
            return turns
    return []


def _turn_text(item: Any) -> str:
    if isinstance(item, dict) and not any(k in item for k in ("content", "text", "kwargs")):
        return " ".join(
            as_text(v) for v in item.values() if isinstance(v, str | dict | list) and v
        ).strip()
    return message_text(item) if isinstance(item, dict) else as_text(item)


def _message_lists(trace: Trace) -> Iterator[list[Any]]:
    holders: list[Any] = [trace.input]
    for step in trace.steps:
        if step.type in (StepType.llm, StepType.agent, StepType.chain):
            holders.append(step.input)
            flat: dict[int, dict[str, Any]] = {}
            for key, value in step.metadata.items():
                match = _FLAT_MESSAGE.match(key)
                if match:
                    flat.setdefault(int(match.group(1)), {})[f"message.{match.group(2)}"] = value
            if flat:
                yield [flat[i] for i in sorted(flat)]
    for holder in holders:
        value = decoded(holder)
        if isinstance(value, dict):
            value = value.get("messages") or value.get("input_messages")
        if isinstance(value, list) and value and isinstance(value[0], list):
            value = value[0]  # LangChain chat models: a batch of message lists
        if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
            yield value


def _before_last_user(messages: list[Any]) -> list[str]:
    roles = [message_role(m) for m in messages]
    last_user = max((i for i, role in enumerate(roles) if role == "user"), default=-1)
    return [
        text
        for message, role in zip(messages[:last_user], roles[:last_user], strict=True)
        if role in ("user", "assistant") and (text := message_text(message).strip())
    ]


def truncation_notices(trace: Trace) -> list[Notice]:
    """Steps that dropped or cut material before the model saw it."""
    found: list[Notice] = []
    for step in trace.steps:
        if step.type in (StepType.retriever, StepType.reranker, StepType.tool):
            continue  # returning the top k of an index is not dropping context
        notice = _step_notice(step)
        if notice:
            found.append(Notice(step.id, f"{step.name or step.type.value}: {notice}"))
    return found


def _step_notice(step: Step) -> str:
    output = decoded(step.output)
    holders = [h for h in (step.metadata, output) if isinstance(h, dict)]
    for holder in holders:
        for key, value in holder.items():
            # OTel attributes are namespaced ("context.truncated", "rag.dropped_documents").
            last = str(key).rsplit(".", 1)[-1].lower()
            if last in _TRUNCATED_FLAGS and (
                value is True or (isinstance(value, str) and value.lower() in ("true", "yes"))
            ):
                return f"{key} = {value}"
            count = len(value) if isinstance(value, list) else value
            if last in _DROPPED_KEYS and _positive_int(count):
                return f"{key} = {count}"
    given = _first_list(decoded(step.input), _GIVEN_KEYS)
    kept = _first_list(output, _KEPT_KEYS)
    if given is not None and kept is not None and len(kept) < len(given):
        return f"kept {len(kept)} of {len(given)} documents"
    texts = [v for v in step.metadata.values() if isinstance(v, str)]
    if isinstance(step.output, str):
        texts.append(step.output[:4000])
    for text in texts:
        found = _TRUNCATION_TEXT.search(text)
        if found:
            return f"'{found.group(0)}'"
    return ""


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _first_list(holder: Any, keys: tuple[str, ...]) -> list[Any] | None:
    if isinstance(holder, dict):
        for key in keys:
            value = decoded(holder.get(key))
            if isinstance(value, list):
                return value
    return None


def tool_schemas(trace: Trace) -> dict[str, dict[str, Any]]:
    """Tool name -> JSON schema of its parameters, from every convention found."""
    schemas: dict[str, dict[str, Any]] = {}
    holders: list[Any] = [trace.metadata, trace.input]
    for step in trace.steps:
        if step.type in (StepType.llm, StepType.agent, StepType.chain):
            holders.extend([step.input, step.metadata])
            for key in ("invocation_params", "extra.invocation_params"):
                invocation = step.metadata.get(key)
                if isinstance(invocation, dict):
                    holders.append(invocation)
            for key, value in step.metadata.items():
                if _FLAT_TOOL.match(key):
                    _add_tool(schemas, decoded(value))
        if step.type is StepType.tool and step.name:
            for key in ("tool.parameters", "tool.json_schema", "parameters", "args_schema"):
                schema = decoded(step.metadata.get(key))
                if isinstance(schema, dict):
                    schemas.setdefault(step.name, _parameters(schema))
                    break
    for holder in holders:
        found = decoded(holder)
        if not isinstance(found, dict):
            continue
        for key in _SCHEMA_LISTS:
            value = decoded(found.get(key))
            if isinstance(value, list):
                for item in value:
                    _add_tool(schemas, decoded(item))
    return schemas


def _add_tool(schemas: dict[str, dict[str, Any]], item: Any) -> None:
    if not isinstance(item, dict):
        return
    inner = item.get("function")
    function: dict[str, Any] = inner if isinstance(inner, dict) else item
    name = function.get("name")
    for key in ("parameters", "input_schema", "json_schema", "args_schema", "schema"):
        schema = decoded(function.get(key))
        if isinstance(name, str) and isinstance(schema, dict):
            schemas.setdefault(name, _parameters(schema))
            return


def _parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """The parameters object of a schema that may wrap a whole function definition."""
    if "properties" not in schema:
        for key in ("parameters", "input_schema"):
            inner = decoded(schema.get(key))
            if isinstance(inner, dict):
                return inner
        function = schema.get("function")
        if isinstance(function, dict):
            return _parameters(function)
    return schema


def tool_arguments(step: Step) -> dict[str, Any] | None:
    """The arguments of a tool call, as an object, or None when they cannot be read."""
    for value in (
        step.input,
        step.metadata.get("tool_call.function.arguments"),
        step.metadata.get("tool.arguments"),
    ):
        args = decoded(value)
        if isinstance(args, dict):
            for key in _ARGUMENT_KEYS:
                inner = decoded(args.get(key))
                if len(args) == 1 and isinstance(inner, dict):
                    return inner
            return args
    return None
