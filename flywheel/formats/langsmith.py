"""LangSmith run exports: a JSON array, JSONL, the ``{"runs": [...]}`` page of the runs API,
or the SDK's batch payload ``{"post": [...], "patch": [...]}`` (what ``/runs/batch`` receives:
a patch completes the posted run of the same id, or of the id its ``dotted_order`` ends in).

Each record is a run (``id``, ``name``, ``run_type``, ``inputs``, ``outputs``, ``error``,
``start_time``, ``end_time``, ``parent_run_id``, ``trace_id``, ``extra``, ``tags``...). Nested
``child_runs`` are flattened into steps; runs exported flat (one row per run) are grouped into
one trace by ``trace_id`` (or by walking ``parent_run_id``) across the whole file. The root run
(no parent) gives the trace; a trace whose root is missing is still yielded, with
``metadata["incomplete"] = True`` and the ``missing_parent_ids``.

Field mapping:

- ``run_type`` gives `Step.type`; ``prompt`` (a template being formatted, not a model call)
  becomes ``chain``. An ``llm`` run's usage comes from ``prompt_tokens`` /
  ``completion_tokens`` / ``total_tokens`` (or the output's ``usage_metadata``, ``usage`` or
  ``llm_output.token_usage``), its model
  from ``extra.metadata.ls_model_name`` or the invocation parameters, its cost from
  ``total_cost``. Other runs carry their children's totals, so those stay in their metadata
  (the root's ``total_cost`` is the trace's cost).
- The conversation comes from ``extra.metadata`` ``thread_id`` / ``session_id`` /
  ``conversation_id`` (LangSmith's own thread keys). A run's top-level ``session_id`` is the
  LangSmith *project* id, so it is kept as ``metadata["langsmith_project_id"]``, not as the
  session.
- Feedback, from the ``feedback`` list when a run has one (``key``, ``score``, ``value``,
  ``comment``, ``correction``, ``feedback_source.type``):
  a ``model`` source becomes a `Score`; a ``correction`` a correction `Feedback`; a
  thumbs-like key (``user_score``, ``thumbs``, ``thumbs_up``, ``user_feedback``, ``like``,
  ``helpful``) a thumb (+1 when the score is positive, else -1) from the user; another
  numeric score a reviewer rating on a 0-1 scale; a comment alone a comment.
- Feedback from ``feedback_stats`` (``{key: {"n", "avg", ...}}``, keys not already in the
  list): thumbs-like keys become a user thumb (+1 when ``avg`` >= 0.5); every other key with
  a numeric ``avg`` (``correctness``, ``helpfulness``... usually written by evaluators) a
  `Score` of that average. The raw stats stay in the step's metadata.
- The trace's output is the answer: the last AI message of the root run's output (an OpenAI
  completion's first choice, LangChain ``generations``, or the last ``ai`` / ``assistant``
  message of a ``messages`` state that also holds the user's), the whole output otherwise; the
  root step keeps the output as it was.
- Feedback on a child run carries the run id as ``step_id``. Every field not read above is
  kept in the step's metadata (the root's also in the trace's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flywheel.formats._fields import BadField, answer, field_path, timestamp_field
from flywheel.formats._source import Record, Rejected, TraceSource, build_trace

_THUMB_KEYS = {
    "user_score",
    "thumbs",
    "thumb",
    "thumbs_up",
    "user_feedback",
    "user-feedback",
    "like",
    "helpful",
}
_THREAD_KEYS = ("thread_id", "session_id", "conversation_id")
#: Run fields read into the step; the structural ones are not repeated in metadata.
_RUN_FIELDS = {
    "id",
    "name",
    "run_type",
    "inputs",
    "outputs",
    "error",
    "start_time",
    "end_time",
    "parent_run_id",
    "trace_id",
    "child_runs",
    "child_run_ids",
    "parent_run_ids",
    "direct_child_run_ids",
    "extra",
    "session_id",
    "feedback_stats",
    "feedback",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "total_cost",
}


class LangSmithFormat:
    name = "langsmith"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        if _BATCH.match(head) is not None:
            return True
        return (
            head.lstrip()[:1] in (b"{", b"[")
            and b'"run_type"' in head
            and (b'"inputs"' in head or b'"parent_run_id"' in head)
        )

    def read(self, source: TraceSource) -> Iterator[Record]:
        runs: list[_Run] = []
        records = source.json_auto()
        for item in records:
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            if isinstance(data, dict) and isinstance(data.get("runs"), list):
                rows = [(f"runs[{i}]", run) for i, run in enumerate(data["runs"])]
            elif _is_batch(data):
                rows = _batch_rows(data)
            else:
                rows = [("", data)]
            for where, row in rows:
                try:
                    runs.extend(_flatten(row, where, line))
                except BadField as bad:
                    yield Rejected(source.name, line, bad.reason, bad.field, raw)
        yield from _assemble(runs, source.name)


_BATCH = re.compile(rb'\s*\{\s*"(post|patch)"\s*:\s*\[')


def _is_batch(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and "id" not in data
        and any(isinstance(data.get(key), list) for key in ("post", "patch"))
    )


def _batch_rows(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """The runs of a batch payload, each patch merged into the run it completes."""
    rows: list[tuple[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    for key in ("post", "patch"):
        for i, run in enumerate(data.get(key) or []):
            where = f"{key}[{i}]"
            run_id = (
                run.get("id") or _id_of_dotted(run.get("dotted_order"))
                if isinstance(run, dict)
                else None
            )
            if not isinstance(run_id, str | int) or isinstance(run_id, bool):
                rows.append((where, run))  # rejected with the reason when converted
                continue
            known = by_id.get(str(run_id))
            if known is None:
                by_id[str(run_id)] = merged = {**run, "id": run_id}
                rows.append((where, merged))
            else:
                known.update({k: v for k, v in run.items() if v is not None})
    return rows


def _id_of_dotted(value: Any) -> str | None:
    """``20241013T070537170001Z<run id>`` (the last dotted segment) -> the run id."""
    if not isinstance(value, str) or "Z" not in value:
        return None
    return value.rsplit(".", 1)[-1].split("Z", 1)[1] or None


@dataclass
class _Run:
    step: dict[str, Any]
    trace_id: str | None
    line: int
    raw: dict[str, Any]
    extra_metadata: dict[str, Any]
    feedback: list[dict[str, Any]]
    scores: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return str(self.step["id"])

    @property
    def parent_id(self) -> str | None:
        parent = self.step.get("parent_id")
        return str(parent) if parent else None


def _flatten(run: Any, where: str, line: int, parent: str | None = None) -> list[_Run]:
    """The run and its nested ``child_runs``, depth first; raises `BadField` on a bad one."""
    if not isinstance(run, dict):
        raise BadField(where or "run", "expected a run object")
    converted = _convert(run, where, line, parent)
    result = [converted]
    children = run.get("child_runs")
    if children is None:
        return result
    if not isinstance(children, list):
        raise BadField(field_path(where, "child_runs"), "expected a list of runs")
    for i, child in enumerate(children):
        result.extend(_flatten(child, field_path(where, f"child_runs[{i}]"), line, converted.id))
    return result


#: A record with none of these is not a run, whatever ids it has (Phoenix spans have ids too).
_RUN_KEYS = ("run_type", "inputs", "outputs", "dotted_order", "parent_run_id", "child_runs")


def _convert(run: dict[str, Any], where: str, line: int, parent: str | None) -> _Run:
    if not any(key in run for key in _RUN_KEYS):
        keys = ", ".join(list(run)[:6])
        raise BadField(
            where or "run",
            f"not a LangSmith run: none of {', '.join(_RUN_KEYS)} (found {keys})",
        )
    run_id = _ident(run.get("id"), field_path(where, "id"))
    if run_id is None:
        raise BadField(field_path(where, "id"), "missing: every run needs an id")
    parent_id = _ident(run.get("parent_run_id"), field_path(where, "parent_run_id")) or parent
    trace_id = _ident(run.get("trace_id"), field_path(where, "trace_id"))
    start = timestamp_field(run.get("start_time"), field_path(where, "start_time"))
    end = timestamp_field(run.get("end_time"), field_path(where, "end_time"))
    extra = _mapping(run.get("extra"))
    meta = _mapping(extra.get("metadata"))
    run_type = str(run.get("run_type") or "")
    error = run.get("error")
    metadata: dict[str, Any] = dict(meta)
    for key, value in extra.items():
        if key != "metadata":
            metadata[f"extra.{key}"] = value
    for key, value in run.items():
        if key not in _RUN_FIELDS and value is not None:
            metadata[key] = value
    if run.get("session_id") is not None:
        metadata["langsmith_project_id"] = str(run["session_id"])
    if run.get("feedback_stats"):
        metadata["feedback_stats"] = run["feedback_stats"]
    if run_type != "llm":  # a chain's tokens and cost add up its children's: kept, not counted
        for key in ("prompt_tokens", "completion_tokens", "total_tokens", "total_cost"):
            if run.get(key) is not None:
                metadata[key] = run[key]
    step = {
        "id": run_id,
        "parent_id": parent_id,
        "type": "chain" if run_type == "prompt" else run_type,
        "name": str(run.get("name") or run_type),
        "input": run.get("inputs"),
        "output": run.get("outputs"),
        "error": str(error) if error else None,
        "start_time": start,
        "latency_ms": (end - start).total_seconds() * 1000
        if start and end and end >= start
        else None,
        "model": _model(meta, extra),
        "usage": _usage(run) if run_type == "llm" else None,
        "cost_usd": _number(run.get("total_cost")) if run_type == "llm" else None,
        "metadata": metadata,
    }
    feedback, scores = _judgements(run)
    return _Run(step, trace_id, line, run, meta, feedback, scores)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ident(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadField(where, f"expected a string id, got {type(value).__name__}")
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # the API writes costs as decimal strings
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _model(meta: dict[str, Any], extra: dict[str, Any]) -> str | None:
    params = extra.get("invocation_params")
    params = params if isinstance(params, dict) else {}
    for value in (meta.get("ls_model_name"), params.get("model"), params.get("model_name")):
        if isinstance(value, str) and value:
            return value
    return None


def _usage(run: dict[str, Any]) -> dict[str, int] | None:
    usage: dict[str, int] = {}
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = run.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            usage[key] = value
    if usage:
        return usage
    outputs = run.get("outputs")
    # The SDK's wrappers write LangChain's ``usage_metadata``; OpenAI completions ``usage``.
    for key, names in (
        ("usage_metadata", ("input_tokens", "output_tokens", "total_tokens")),
        ("usage", ("prompt_tokens", "completion_tokens", "total_tokens")),
    ):
        counts = outputs.get(key) if isinstance(outputs, dict) else None
        if isinstance(counts, dict):
            usage = {
                ours: counts[theirs]
                for ours, theirs in zip(
                    ("prompt_tokens", "completion_tokens", "total_tokens"), names, strict=True
                )
                if isinstance(counts.get(theirs), int) and not isinstance(counts[theirs], bool)
            }
            if usage:
                return usage
    llm_output = outputs.get("llm_output") if isinstance(outputs, dict) else None
    token_usage = llm_output.get("token_usage") if isinstance(llm_output, dict) else None
    if isinstance(token_usage, dict):
        usage = {
            k: v for k, v in token_usage.items() if isinstance(v, int) and not isinstance(v, bool)
        }
    return usage or None


def _judgements(run: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    feedback: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    seen: set[str] = set()
    items = run.get("feedback")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not item.get("key"):
            continue
        key = str(item["key"])
        seen.add(key)
        target, record = _from_feedback(item, key)
        (feedback if target == "feedback" else scores).append(record)
    stats = run.get("feedback_stats")
    for key, stat in (stats if isinstance(stats, dict) else {}).items():
        avg = stat.get("avg") if isinstance(stat, dict) else None
        if key in seen or isinstance(avg, bool) or not isinstance(avg, int | float):
            continue
        extra = {"key": key, "n": stat.get("n"), "avg": avg}
        if key.lower() in _THUMB_KEYS:
            feedback.append({"kind": "thumb", "value": 1.0 if avg >= 0.5 else -1.0, **extra})
        else:
            scores.append(
                {"name": key, "value": float(avg), "source": "langsmith", "n": stat.get("n")}
            )
    return feedback, scores


def _from_feedback(item: dict[str, Any], key: str) -> tuple[str, dict[str, Any]]:
    score = item.get("score")
    if isinstance(score, bool):
        score = float(score)
    numeric = float(score) if isinstance(score, int | float) else None
    source = item.get("feedback_source")
    source_type = str(source.get("type") or "") if isinstance(source, dict) else ""
    comment = item.get("comment")
    common: dict[str, Any] = {"key": key}
    if item.get("id") is not None:
        common["feedback_id"] = str(item["id"])
    try:
        common["timestamp"] = timestamp_field(item.get("created_at"), "created_at")
    except BadField:
        common["created_at"] = item.get("created_at")
    if item.get("value") is not None:
        common["label"] = item["value"]
    if source_type == "model" and numeric is not None:
        record = {"name": key, "value": numeric, "source": "model", "comment": comment}
        return "score", {k: v for k, v in record.items() if v is not None}
    if item.get("correction") is not None:
        correction = item["correction"]
        text = correction if isinstance(correction, str) else json.dumps(correction, default=str)
        return "feedback", {
            **common,
            "kind": "correction",
            "source": "reviewer",
            "comment": text,
            "value": numeric,
        }
    if key.lower() in _THUMB_KEYS and numeric is not None:
        return "feedback", {
            **common,
            "kind": "thumb",
            "value": 1.0 if numeric > 0 else -1.0,
            "comment": comment,
        }
    if numeric is not None:
        return "feedback", {
            **common,
            "kind": "rating",
            "value": numeric,
            "scale": 1.0 if 0 <= numeric <= 1 else None,
            "source": "reviewer",
            "comment": comment,
        }
    return "feedback", {**common, "kind": "comment", "comment": comment or item.get("value")}


def _assemble(runs: list[_Run], file: str) -> Iterator[Record]:
    by_id = {run.id: run for run in runs}
    groups: dict[str, list[_Run]] = {}
    for run in runs:
        groups.setdefault(_trace_key(run, by_id), []).append(run)
    for trace_id, members in groups.items():
        yield _build(trace_id, members, file)


def _trace_key(run: _Run, by_id: dict[str, _Run]) -> str:
    """The run's trace id, found through its ancestors when the row does not say."""
    current, seen = run, set()
    while current.trace_id is None and current.id not in seen:
        seen.add(current.id)
        parent = current.parent_id
        if parent is None:
            return current.id
        if parent not in by_id:
            return parent  # the root is missing: group by the missing ancestor
        current = by_id[parent]
    return current.trace_id or current.id


def _build(trace_id: str, runs: list[_Run], file: str) -> Record:
    runs = sorted(
        runs, key=lambda r: (r.step["start_time"] is None, r.step["start_time"] or 0, r.line)
    )
    ids = {run.id for run in runs}
    tops = [run for run in runs if run.parent_id is None or run.parent_id not in ids]
    roots = [run for run in tops if run.parent_id is None]
    root = (roots or tops or runs)[0]  # parent links in a cycle leave no top: take the first
    metadata: dict[str, Any] = {
        k: v for k, v in root.step["metadata"].items() if k not in (*_THREAD_KEYS, "user_id")
    }
    missing = sorted({run.parent_id for run in tops if run.parent_id is not None})
    if missing:
        metadata["incomplete"] = True
        metadata["missing_parent_ids"] = missing
    feedback: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    for run in runs:
        step_id = None if run is root else {"step_id": run.id}
        feedback.extend({**f, **(step_id or {})} for f in run.feedback)
        scores.extend({**s, **(step_id or {})} for s in run.scores)
    session = _first(runs, root, _THREAD_KEYS)
    step_input = root.step["input"]
    if step_input is None or step_input == "":
        step_input = root.step["name"] or trace_id
    output = answer(root.step["output"])
    cost = _number(root.raw.get("total_cost"))
    if cost is None:
        costs = [run.step["cost_usd"] for run in runs if run.step["cost_usd"] is not None]
        cost = sum(costs) if costs else None
    data = {
        "trace_id": trace_id,
        "input": step_input if isinstance(step_input, str | dict | list) else str(step_input),
        "output": output
        if output is None or isinstance(output, str | dict | list)
        else str(output),
        "session_id": session,
        "user_id": _first(runs, root, ("user_id",)),
        "timestamp": root.step["start_time"],
        "latency_ms": root.step["latency_ms"],
        "cost_usd": cost,
        "steps": [run.step for run in runs],
        "feedback": feedback,
        "scores": scores,
        "metadata": metadata,
    }
    return build_trace(
        data,
        file=file,
        line=min(run.line for run in runs),
        raw=lambda: json.dumps([run.raw for run in runs], default=str).encode()[:65536],
    )


def _first(runs: list[_Run], root: _Run, keys: tuple[str, ...]) -> str | None:
    for run in [root, *runs]:
        for key in keys:
            value = run.extra_metadata.get(key)
            if value not in (None, ""):
                return str(value)
    return None
