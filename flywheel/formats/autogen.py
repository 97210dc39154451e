"""AutoGen (``autogen_core``) message logs: what AutoGen saves of a conversation, with each
message typed by its class rather than by an OpenAI ``role``. Two files are read, one trace
per file (a JSON list or JSONL of several gives one trace per record):

- a conversation: ``{"messages": [...]}`` (a model context's ``save_state()``, the chat
  history files of AutoGen's samples) or a bare list of messages, each
  ``{"type": "SystemMessage" | "UserMessage" | "AssistantMessage" |
  "FunctionExecutionResultMessage", "source"?, "content", "thought"?}``; an assistant's
  ``content`` is its text or a list of function calls ``{"id", "name", "arguments"}``, a
  function result message's content a list of ``{"call_id", "name", "content", "is_error"}``;
- a recorded session of model calls (``ChatCompletionClientRecorder``, used by AutoGen's own
  tests): a list of ``{"mode": "create" | "create_stream", "messages": [...], "response":
  {"content", "finish_reason", "usage": {"prompt_tokens", "completion_tokens"}, "cached",
  "thought"}, "stream": [...]}``.

Mapping: the trace id is the record's ``id`` or the file stem. In a conversation a system or
user message is an ``other`` step named after its sender; an assistant message is an ``llm``
step named after the agent that sent it (``source``); each function call is a ``tool`` step
under it, whose output (and error, when ``is_error``) is the function result that names its
call id. In a session every recorded call is an ``llm`` step named after its mode, with the
last message it was sent as its input, the response as its output and the tokens it used.
The input is the first user message, the answer the last assistant text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flywheel.formats._fields import BadField
from flywheel.formats._source import Record, Rejected, TraceSource, build_trace
from flywheel.formats.chat import file_stem, head_text

_TYPES = ("SystemMessage", "UserMessage", "AssistantMessage", "FunctionExecutionResultMessage")
_TYPED = re.compile(r'"type"\s*:\s*"(' + "|".join(_TYPES) + r')"')
_SESSION = re.compile(r'^\[\s*\{\s*"mode"\s*:\s*"create(_stream)?"')


class AutoGenFormat:
    name = "autogen"

    def sniff(self, source: TraceSource, head: bytes) -> float:
        text = head_text(head)
        if not text.startswith(("{", "[")) or _TYPED.search(text) is None:
            return 0.0
        if _SESSION.match(text) or re.match(r'[\[\s]*\{\s*"messages"\s*:', text):
            return 0.9  # above the generic chat reader, which wants a "role"
        return 0.8 if re.match(r'\[\s*\{\s*"content"', text) else 0.0

    def read(self, source: TraceSource) -> Iterator[Record]:
        stem = file_stem(source)
        records = list(source.json_auto())
        good = [item for item in records if not isinstance(item, Rejected)]
        if good and all(_is_message(item[1]) for item in good):
            # One conversation as a bare list of messages.
            messages = [item[1] for item in good]
            yield from (item for item in records if isinstance(item, Rejected))
            yield self._build(source, good[0][0], {"messages": messages}, stem, good[0][2])
            return
        if good and all(_is_call(item[1]) for item in good):
            calls = [item[1] for item in good]
            yield from (item for item in records if isinstance(item, Rejected))
            yield self._build(source, good[0][0], {"calls": calls}, stem, good[0][2])
            return
        many = len(records) > 1
        for item in records:
            if isinstance(item, Rejected):
                yield item
                continue
            line, record, raw = item
            if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
                yield Rejected(
                    source.name,
                    line,
                    "expected an AutoGen conversation with a 'messages' list",
                    field="messages",
                    raw=raw[:4096],
                )
                continue
            yield self._build(source, line, record, f"{stem}-{line}" if many else stem, raw)

    def _build(
        self, source: TraceSource, line: int, record: dict[str, Any], fallback: str, raw: bytes
    ) -> Record:
        try:
            if "calls" in record:
                data = _session(record["calls"], fallback)
            else:
                data = _conversation(record, fallback)
        except BadField as exc:
            return Rejected(source.name, line, exc.reason, field=exc.field, raw=raw[:4096])
        return build_trace(data, file=source.name, line=line, raw=raw)


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in _TYPES


def _is_call(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("mode") in ("create", "create_stream")
        and isinstance(value.get("messages"), list)
    )


def _conversation(record: dict[str, Any], fallback: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    tools: dict[str, dict[str, Any]] = {}
    user_input: Any = None
    answer: Any = None
    messages = record["messages"]
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not _is_message(message):
            raise BadField(f"{where}.type", f"expected one of {', '.join(_TYPES)}")
        kind = message["type"]
        content = message.get("content")
        step_id = f"m{index}"
        sender = _text(message.get("source"))
        if kind in ("SystemMessage", "UserMessage"):
            text = _content(content)
            if kind == "UserMessage" and user_input is None and text:
                user_input = text
            name = sender or ("system" if kind == "SystemMessage" else "user")
            steps.append({"id": step_id, "type": "other", "name": name, "input": text})
        elif kind == "AssistantMessage":
            step = {
                "id": step_id,
                "type": "llm",
                "name": sender or "assistant",
                "metadata": {"thought": message["thought"]} if message.get("thought") else {},
            }
            steps.append(step)
            if isinstance(content, list):
                for number, call in enumerate(content):
                    tool = _tool(call, step_id, f"{where}.content.{number}")
                    steps.append(tool)
                    tools[tool["metadata"]["call_id"]] = tool
            else:
                step["output"] = _content(content)
                answer = step["output"] or answer
        else:
            _results(content, tools, steps, step_id, where)
    return {
        "trace_id": _text(record.get("id")) or fallback,
        "input": user_input or fallback,
        "output": answer,
        "steps": steps,
        "metadata": {
            "producer": "autogen",
            **{k: v for k, v in record.items() if k not in ("messages", "id")},
        },
    }


def _tool(call: Any, parent: str, where: str) -> dict[str, Any]:
    if not isinstance(call, dict) or not _text(call.get("name")):
        raise BadField(where, "expected a function call with a 'name'")
    call_id = _text(call.get("id")) or f"{parent}-{where}"
    return {
        "id": f"{parent}-{call_id}",
        "parent_id": parent,
        "type": "tool",
        "name": call["name"],
        "input": call.get("arguments"),
        "metadata": {"call_id": call_id},
    }


def _results(
    content: Any,
    tools: dict[str, dict[str, Any]],
    steps: list[dict[str, Any]],
    step_id: str,
    where: str,
) -> None:
    """Function results: each fills in the tool step of its call (or stands alone)."""
    if not isinstance(content, list):
        raise BadField(f"{where}.content", "expected a list of function results")
    for number, result in enumerate(content):
        if not isinstance(result, dict):
            raise BadField(f"{where}.content.{number}", "expected a function result object")
        output = result.get("content")
        error = str(output or "error") if result.get("is_error") is True else None
        target = tools.get(_text(result.get("call_id")) or "")
        if target is None:
            steps.append(
                {
                    "id": f"{step_id}-{number}",
                    "type": "tool",
                    "name": _text(result.get("name")) or "function",
                    "output": output,
                    "error": error,
                }
            )
            continue
        target["output"] = output
        if error:
            target["error"] = error


def _session(calls: list[dict[str, Any]], fallback: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    user_input: Any = None
    answer: Any = None
    for index, call in enumerate(calls):
        messages = call["messages"]
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        sent = _content(last.get("content"))
        if user_input is None:
            user_input = next(
                (
                    _content(m.get("content"))
                    for m in messages
                    if isinstance(m, dict) and m.get("type") == "UserMessage"
                ),
                None,
            )
        response = _response(call)
        output = _content(response.get("content"))
        answer = output or answer
        usage = _dict(response.get("usage"))
        tokens = {
            k: v
            for k in ("prompt_tokens", "completion_tokens")
            if (v := _count(usage.get(k))) is not None
        }
        if tokens:
            tokens["total_tokens"] = sum(tokens.values())
        metadata = {k: response[k] for k in ("finish_reason", "cached", "thought") if k in response}
        steps.append(
            {
                "id": f"call-{index}",
                "type": "llm",
                "name": call["mode"],
                "input": sent,
                "output": output,
                "usage": tokens or None,
                "metadata": {"messages": len(messages), **metadata},
            }
        )
    return {
        "trace_id": fallback,
        "input": user_input or fallback,
        "output": answer,
        "steps": steps,
        "metadata": {"producer": "autogen", "calls": len(calls)},
    }


def _response(call: dict[str, Any]) -> dict[str, Any]:
    """A call's result: ``response``, or for a stream the final result it ended with."""
    response = call.get("response")
    if isinstance(response, dict):
        return response
    stream = call.get("stream")
    chunks = stream if isinstance(stream, list) else []
    final = next((c for c in reversed(chunks) if isinstance(c, dict)), None)
    if final is not None:
        return final
    return {"content": "".join(c for c in chunks if isinstance(c, str)) or None}


def _content(value: Any) -> Any:
    """Text, the text parts of a multimodal list, or the value as it is."""
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "\n".join(value) or None
    return value if value not in ("", None) else None


def _count(value: Any) -> int | None:
    """A token count, or None when the value is not one."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
