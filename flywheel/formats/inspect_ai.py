"""Inspect AI eval logs in their JSON form (``inspect eval --log-format json``, or
``inspect log convert``): one document per evaluation run, one trace per sample and epoch.

Shape::

    {"version": 2, "status": "success" | "error" | "cancelled", "eval": {"run_id", "task",
     "task_id", "model", ...}, "plan", "results", "stats", "samples": [{"id", "epoch",
     "input", "target", "messages": [...], "output": {"model", "choices": [{"message"}],
     "usage"}, "scores": {scorer: {"value", "answer", "explanation"}}, "error"?,
     "model_usage"?, "total_time"?, "metadata"}]}

Mapping: the trace id is ``{task}-{sample id}-e{epoch}`` (with the run id when the log has
one, so two runs of a task do not collide); the messages become steps as chat transcripts do
(Inspect's tool calls, ``{"function": name, "arguments": {...}}``, are read as OpenAI ones, and
a tool message's ``error`` is its step's error); the answer is the output's first choice; the
model and token usage come from ``output``. Each scorer's value becomes a score named after
the scorer: numbers as they are, Inspect's letter grades as ``C`` (correct) 1, ``P``
(partial) 0.5, ``I`` (incorrect) and ``N`` (no answer) 0, booleans as 1 / 0; a dict of values
gives one score per key (``scorer.key``). A sample's ``error`` is an error on its root step.
The binary ``.eval`` (zip) form is not read: convert it with ``inspect log convert --to
json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flywheel.formats._source import Record, Rejected, TraceSource, build_trace
from flywheel.formats.chat import (
    conversation_input,
    conversation_steps,
    head_text,
    parse_messages,
)

_HEADER = re.compile(r'^\{\s*"version"\s*:\s*\d+\s*,\s*"status"\s*:')
_GRADES = {"C": 1.0, "P": 0.5, "I": 0.0, "N": 0.0}


class InspectFormat:
    name = "inspect"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        text = head_text(head)
        return _HEADER.match(text) is not None and '"eval"' in text

    def read(self, source: TraceSource) -> Iterator[Record]:
        for item in source.json_records():
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            if not isinstance(data, dict) or not isinstance(data.get("eval"), dict):
                yield Rejected(source.name, line, "expected an Inspect eval log", raw=raw[:4096])
                continue
            samples = data.get("samples")
            if not isinstance(samples, list) or not samples:
                yield Rejected(
                    source.name,
                    line,
                    f"the log holds no samples (status {data.get('status')!r}): nothing to read",
                    field="samples",
                    raw=raw[:4096],
                )
                continue
            for i, sample in enumerate(samples):
                yield _sample(source, data, sample, i, line, raw)


def _sample(
    source: TraceSource, log: dict[str, Any], sample: Any, index: int, line: int, raw: bytes
) -> Record:
    where = f"samples.{index}."
    if not isinstance(sample, dict):
        return Rejected(source.name, line, "expected a sample object", where.rstrip("."), raw)
    eval_info: dict[str, Any] = log["eval"]
    messages = [_message(m) for m in sample.get("messages") or []]
    if not messages and sample.get("input") is not None:
        messages = [{"role": "user", "content": _text(sample["input"])}]
    parsed = parse_messages(
        [(line, m) for m in messages], file=source.name, raw=raw[:65536], prefix=f"{where}messages."
    )
    if isinstance(parsed, Rejected):
        return parsed
    steps = [step.model_dump() for step in conversation_steps(parsed, tool_error_prefix="Error: ")]
    found = sample.get("output")
    output: dict[str, Any] = found if isinstance(found, dict) else {}
    model = output.get("model") or eval_info.get("model")
    usage = _usage(output.get("usage"))
    for step in steps:
        if step["type"] == "llm" and model:
            step["model"] = str(model)
    last_llm = next((s for s in reversed(steps) if s["type"] == "llm"), None)
    if last_llm is not None and usage:
        last_llm["usage"] = usage
    error = sample.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        steps.insert(
            0,
            {
                "id": "sample-error",
                "type": "other",
                "name": "error",
                "error": str(message or "the sample failed"),
                "metadata": {"traceback": error.get("traceback")}
                if isinstance(error, dict)
                else {},
            },
        )
    task = str(eval_info.get("task") or "inspect")
    run = eval_info.get("run_id")
    run_part = f"{run}-" if isinstance(run, str) and run and run != "..." else ""
    trace = {
        "trace_id": f"{task}-{run_part}{sample.get('id')}-e{sample.get('epoch', 1)}",
        "input": conversation_input(parsed) if parsed else _text(sample.get("input")),
        "output": _answer(output),
        "latency_ms": _ms(sample.get("total_time")),
        "steps": steps,
        "scores": _scores(sample.get("scores")),
        "metadata": {
            "benchmark": "inspect",
            "task": task,
            "run_id": run,
            "status": log.get("status"),
            "target": sample.get("target"),
            "sample_metadata": sample.get("metadata") or None,
        },
    }
    trace["metadata"] = {k: v for k, v in trace["metadata"].items() if v is not None}
    return build_trace(trace, file=source.name, line=line, raw=raw[:65536])


def _message(message: Any) -> Any:
    """Inspect's message as an OpenAI chat message (tool calls, content parts, tool errors)."""
    if not isinstance(message, dict):
        return message
    out = {k: v for k, v in message.items() if k not in ("tool_calls", "error", "function")}
    out["content"] = _text(message.get("content"))
    calls = []
    for call in message.get("tool_calls") or []:
        if isinstance(call, dict) and isinstance(call.get("function"), str):
            calls.append(
                {
                    "id": call.get("id"),
                    "type": "function",
                    "function": {"name": call["function"], "arguments": call.get("arguments")},
                }
            )
    if calls:
        out["tool_calls"] = calls
    if message.get("role") == "tool":
        if isinstance(message.get("function"), str):
            out["name"] = message["function"]
        error = message.get("error")
        if isinstance(error, dict) and error.get("message"):
            out["content"] = f"Error: {error['message']}"
            out["tool_error"] = error
    return out


def _text(content: Any) -> Any:
    if isinstance(content, list):
        parts = [
            str(part["text"])
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return "\n".join(parts) if parts else content
    return content


def _answer(output: dict[str, Any]) -> Any:
    if isinstance(output.get("completion"), str) and output["completion"]:
        return output["completion"]
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            return _text(message.get("content"))
    return None


def _usage(usage: Any) -> dict[str, int] | None:
    if not isinstance(usage, dict):
        return None
    names = {
        "input_tokens": "prompt_tokens",
        "output_tokens": "completion_tokens",
        "total_tokens": "total_tokens",
    }
    found = {
        ours: int(usage[theirs])
        for theirs, ours in names.items()
        if isinstance(usage.get(theirs), int) and not isinstance(usage.get(theirs), bool)
    }
    return found or None


def _scores(scores: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for scorer, score in (scores if isinstance(scores, dict) else {}).items():
        value = score.get("value") if isinstance(score, dict) else score
        explanation = score.get("explanation") if isinstance(score, dict) else None
        values = value if isinstance(value, dict) else {None: value}
        for key, raw in values.items():
            number = _grade(raw)
            if number is None:
                continue
            record: dict[str, Any] = {
                "name": scorer if key is None else f"{scorer}.{key}",
                "value": number,
                "source": "inspect",
            }
            if isinstance(raw, str):
                record["label"] = raw
            if isinstance(explanation, str) and explanation.strip():
                record["comment"] = explanation.strip()[:2000]
            result.append(record)
    return result


def _grade(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.upper() in _GRADES:
            return _GRADES[text.upper()]
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _ms(seconds: Any) -> float | None:
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return float(seconds) * 1000
    return None
