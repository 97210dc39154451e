"""Langfuse exports: traces with their observations and scores.

Accepted shapes: a JSON array of traces, the public API's page ``{"data": [...], "meta": ...}``,
JSONL with one record per line, or the UI's "download trace" file ``{"trace": {...},
"observations": [...]}`` (one per file or per line). A trace (``id``, ``name``, ``input``,
``output``, ``sessionId``, ``userId``, ``timestamp``, ``metadata``, ``tags``, ``latency`` in
seconds, ``totalCost``) carries its ``observations`` and ``scores`` as objects (``GET
/traces/{id}``) or as lists of ids (``GET /traces``); observations and scores exported flat
beside the traces, each with its ``traceId``, are attached to their trace. Traces are yielded
once the file is read, so a flat observation may come before or after its trace.

Mapping:

- An observation becomes a step: ``type`` GENERATION -> llm, SPAN -> chain, EVENT -> other
  (the newer AGENT, TOOL, RETRIEVER... types map to themselves); ``parentObservationId`` the
  parent; ``usageDetails`` (or the older ``usage``) ``input`` / ``output`` / ``total`` become
  ``prompt_tokens`` / ``completion_tokens`` / ``total_tokens`` (other keys kept as they are),
  else the flat ``inputUsage`` / ``outputUsage`` / ``totalUsage``;
  ``calculatedTotalCost`` or ``costDetails.total`` the cost; ``level`` ERROR makes
  ``statusMessage`` the step error.
- A score becomes `Feedback` when it is user feedback: its name is thumbs-like
  (``user-feedback``, ``thumbs``, ``feedback``, ``like``, ``helpful``...) -> a user thumb
  (+1 for a positive value, -1 for 0 or below), or its source is ``ANNOTATION`` (a human in
  the Langfuse UI) -> a reviewer rating (numeric / boolean) or comment (categorical). Every
  other score with a numeric value becomes a `Score` (source lower-cased: ``api``, ``eval``);
  a categorical score with no numeric value is kept in ``metadata["labels"]``. A score on an
  observation carries it as ``step_id``.
- Trace fields Flywheel does not model (``tags``, ``release``, ``version``, ``environment``,
  ``htmlPath``...) go to ``Trace.metadata``, an observation's to its step's metadata. Flat
  observations whose trace record is not in the file still make a trace, marked
  ``metadata["incomplete"]``, as does a trace whose observations name a missing parent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flywheel.formats._fields import BadField, answer, field_path, list_field, timestamp_field
from flywheel.formats._source import Record, Rejected, TraceSource, build_trace

_THUMB_NAMES = {
    "user-feedback",
    "user_feedback",
    "userfeedback",
    "thumbs",
    "thumb",
    "thumbs-up",
    "thumbs_up",
    "feedback",
    "like",
    "helpful",
}
_USAGE_NAMES = {"input": "prompt_tokens", "output": "completion_tokens", "total": "total_tokens"}
_TRACE_FIELDS = {
    "id",
    "name",
    "input",
    "output",
    "sessionId",
    "userId",
    "timestamp",
    "metadata",
    "latency",
    "totalCost",
    "observations",
    "scores",
}
_OBSERVATION_FIELDS = {
    "id",
    "traceId",
    "type",
    "name",
    "parentObservationId",
    "input",
    "output",
    "model",
    "startTime",
    "endTime",
    "level",
    "statusMessage",
    "usage",
    "usageDetails",
    "costDetails",
    "calculatedTotalCost",
    "totalCost",
    "metadata",
}


class LangfuseFormat:
    name = "langfuse"

    def sniff(self, source: TraceSource, head: bytes) -> bool:
        if head.lstrip()[:1] not in (b"{", b"[") or b'"resourceSpans"' in head:
            return False
        return (
            b'"observations"' in head
            or b'"parentObservationId"' in head
            or (b'"htmlPath"' in head and b'"sessionId"' in head)
        )

    def read(self, source: TraceSource) -> Iterator[Record]:
        collected = _Collected()
        records = source.json_auto()
        for item in records:
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                rows = [(f"data[{i}]", row) for i, row in enumerate(data["data"])]
            else:
                rows = [("", data)]
            for where, row in rows:
                try:
                    collected.add(row, where, line)
                except BadField as bad:
                    row_raw = json.dumps(row, default=str).encode() if rows[0][0] else raw
                    yield Rejected(source.name, line, bad.reason, bad.field, row_raw)
        yield from collected.traces(source.name)


@dataclass
class _Pending:
    line: int
    trace: dict[str, Any] | None = None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Collected:
    """Traces, observations and scores by trace id, in the order their ids first appear."""

    pending: dict[str, _Pending] = field(default_factory=dict)

    def _slot(self, trace_id: str, line: int) -> _Pending:
        if trace_id not in self.pending:
            self.pending[trace_id] = _Pending(line)
        return self.pending[trace_id]

    def add(self, row: Any, where: str, line: int) -> None:
        if not isinstance(row, dict):
            raise BadField(where or "record", "expected a trace, observation or score object")
        if isinstance(row.get("trace"), dict) and "id" not in row and "traceId" not in row:
            row, where = _downloaded(row), field_path(where, "trace")
        if "observations" in row or "traceId" not in row:
            trace_id = _ident(row.get("id"), field_path(where, "id"))
            observations = list_field(row.get("observations"), field_path(where, "observations"))
            scores = list_field(row.get("scores"), field_path(where, "scores"))
            steps = [
                _step(obs, field_path(where, f"observations[{i}]"))
                for i, obs in enumerate(observations)
                if isinstance(obs, dict)
            ]
            parsed = [
                _score(score, field_path(where, f"scores[{i}]"))
                for i, score in enumerate(scores)
                if isinstance(score, dict)
            ]
            trace = {
                "timestamp": timestamp_field(row.get("timestamp"), field_path(where, "timestamp")),
                "row": row,
            }
            slot = self._slot(trace_id, line)
            if slot.trace is not None:
                raise BadField(
                    field_path(where, "id"), f"trace {trace_id} appears twice in the file"
                )
            slot.line = min(slot.line, line)
            slot.trace = trace
            for step in steps:
                slot.steps.setdefault(step["id"], step)
            slot.scores.extend(parsed)
            return
        trace_id = _ident(row.get("traceId"), field_path(where, "traceId"))
        if "startTime" in row or "type" in row:
            step = _step(row, where)
            self._slot(trace_id, line).steps.setdefault(step["id"], step)
        else:
            self._slot(trace_id, line).scores.append(_score(row, where))

    def traces(self, file: str) -> Iterator[Record]:
        for trace_id, slot in self.pending.items():
            yield _build(trace_id, slot, file)


def _downloaded(row: dict[str, Any]) -> dict[str, Any]:
    """The UI's download ``{"trace": {...}, "observations": [...]}`` as one trace record."""
    trace = dict(row["trace"])
    observations = [o for o in trace.get("observations") or [] if isinstance(o, dict)]
    if isinstance(row.get("observations"), list):
        observations.extend(row["observations"])
    trace["observations"] = observations
    if isinstance(row.get("scores"), list) and not trace.get("scores"):
        trace["scores"] = row["scores"]
    return trace


def _decoded(value: Any) -> Any:
    """A JSON text the UI wrote as a string (``'"hello"'``, ``'{...}'``), even one encoded twice
    (a string holding a JSON string), as its value."""
    for _ in range(2):
        if not (
            isinstance(value, str)
            and value[:1] in ('"', "{", "[")
            and value[-1:] in ('"', "}", "]")
        ):
            break
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def _ident(value: Any, where: str) -> str:
    if value is None or value == "":
        raise BadField(where, "missing: every trace, observation and score needs it")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadField(where, f"expected a string id, got {type(value).__name__}")
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    return {} if value is None else {key: value}


def _step(obs: dict[str, Any], where: str) -> dict[str, Any]:
    step_id = _ident(obs.get("id"), field_path(where, "id"))
    parent = obs.get("parentObservationId")
    start = timestamp_field(obs.get("startTime"), field_path(where, "startTime"))
    end = timestamp_field(obs.get("endTime"), field_path(where, "endTime"))
    level = str(obs.get("level") or "DEFAULT").upper()
    status = obs.get("statusMessage")
    metadata = _mapping(obs.get("metadata"), "metadata")
    if level != "DEFAULT":
        metadata["level"] = level
    if status and level != "ERROR":
        metadata["statusMessage"] = status
    for key, value in obs.items():
        if key not in _OBSERVATION_FIELDS and value is not None:
            metadata[key] = value
    cost = _number(obs.get("calculatedTotalCost"))
    if cost is None:
        cost = _number(_mapping(obs.get("costDetails"), "total").get("total"))
    if cost is None:
        cost = _number(obs.get("totalCost"))
    return {
        "id": step_id,
        "parent_id": str(parent) if parent not in (None, "") else None,
        "type": obs.get("type"),
        "name": str(obs.get("name") or obs.get("type") or ""),
        "input": obs.get("input"),
        "output": obs.get("output"),
        "error": (str(status) if status else "level ERROR") if level == "ERROR" else None,
        "start_time": start,
        "latency_ms": (end - start).total_seconds() * 1000
        if start and end and end >= start
        else None,
        "model": str(obs["model"]) if obs.get("model") else None,
        "usage": _usage(obs),
        "cost_usd": cost if cost is not None and cost >= 0 else None,
        "metadata": metadata,
    }


def _usage(obs: dict[str, Any]) -> dict[str, int] | None:
    for key in ("usageDetails", "usage"):
        details = obs.get(key)
        if not isinstance(details, dict):
            continue
        usage = {
            _USAGE_NAMES.get(str(name), str(name)): int(value)
            for name, value in details.items()
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and value == int(value)
        }
        if usage and any(usage.values()):
            return usage
    # The observations API's flat totals (``inputUsage``...), when no details were kept.
    flat = {
        ours: int(obs[theirs])
        for theirs, ours in (
            ("inputUsage", "prompt_tokens"),
            ("outputUsage", "completion_tokens"),
            ("totalUsage", "total_tokens"),
        )
        if isinstance(obs.get(theirs), int | float) and not isinstance(obs.get(theirs), bool)
    }
    return flat if any(flat.values()) else None


def _score(score: dict[str, Any], where: str) -> dict[str, Any]:
    """``{"target": "feedback" | "score" | "label", "record": ...}`` for one score."""
    name = score.get("name")
    if not isinstance(name, str) or not name:
        raise BadField(field_path(where, "name"), "missing: every score needs a name")
    value = score.get("value")
    if isinstance(value, bool):
        value = float(value)
    if value is not None and not isinstance(value, int | float):
        if isinstance(value, str) and score.get("stringValue") is None:
            value = None  # categorical written into value
        else:
            raise BadField(field_path(where, "value"), f"expected a number, got {value!r}")
    source = str(score.get("source") or "").upper()
    data_type = str(score.get("dataType") or "").upper()
    label = score.get("stringValue") if isinstance(score.get("stringValue"), str) else None
    if label is None and isinstance(score.get("value"), str):
        label = score["value"]
    comment = score.get("comment")
    common: dict[str, Any] = {}
    if score.get("id") is not None:
        common["score_id"] = str(score["id"])
    if score.get("observationId"):
        common["step_id"] = str(score["observationId"])
    timestamp = timestamp_field(score.get("timestamp"), field_path(where, "timestamp"))
    if name.strip().lower() in _THUMB_NAMES and value is not None:
        record = {"kind": "thumb", "value": 1.0 if value > 0 else -1.0, "source": "user"}
        record |= {"name": name, "raw_value": value, "timestamp": timestamp, "comment": comment}
        return {"target": "feedback", "record": {**record, **common}}
    if source == "ANNOTATION":
        record = {"source": "reviewer", "name": name, "timestamp": timestamp}
        if value is not None and data_type != "CATEGORICAL":
            record |= {"kind": "rating", "value": float(value), "comment": comment}
            if data_type == "BOOLEAN":
                record["scale"] = 1.0
        else:
            record |= {"kind": "comment", "comment": comment or label, "label": label}
        return {"target": "feedback", "record": {**record, **common}}
    if value is not None:
        record = {"name": name, "value": float(value), "source": source.lower() or None}
        record |= {"comment": comment, "data_type": data_type or None, "label": label}
        return {"target": "score", "record": {**record, **common}}
    record = {"name": name, "label": label, "comment": comment, "source": source.lower() or None}
    return {"target": "label", "record": {**record, **common}}


def _build(trace_id: str, slot: _Pending, file: str) -> Record:
    steps = sorted(
        slot.steps.values(),
        key=lambda s: (
            s["start_time"] is None,
            s["start_time"] or datetime.min.replace(tzinfo=UTC),
        ),
    )
    ids = {step["id"] for step in steps}
    tops = [s for s in steps if s["parent_id"] is None or s["parent_id"] not in ids]
    missing = sorted({s["parent_id"] for s in tops if s["parent_id"] is not None})
    row = slot.trace["row"] if slot.trace else {}
    metadata = _mapping(_decoded(row.get("metadata")), "metadata")
    for key, value in row.items():
        if key not in _TRACE_FIELDS and value is not None:
            metadata[key] = value
    if isinstance(row.get("observations"), list):
        listed = [o for o in row["observations"] if isinstance(o, str) and o not in ids]
        if listed:
            metadata["observation_ids_not_in_file"] = listed
    if slot.trace is None:
        metadata["incomplete"] = True
        metadata["missing_trace_record"] = True
    if missing:
        metadata["incomplete"] = True
        metadata["missing_parent_ids"] = missing
    targets: dict[str, list[dict[str, Any]]] = {"feedback": [], "score": [], "label": []}
    for score in slot.scores:
        record = {k: v for k, v in score["record"].items() if v is not None}
        targets[score["target"]].append(record)
    if targets["label"]:
        metadata["labels"] = targets["label"]
    root = tops[0] if tops else None
    trace_input = _decoded(row.get("input"))
    if trace_input is None and root is not None:
        trace_input = _decoded(root["input"])
    if trace_input is None or trace_input == "":
        trace_input = row.get("name") or (root["name"] if root else None) or trace_id
    output = _decoded(row.get("output"))
    if output is None and root is not None:
        output = _decoded(root["output"])
    output = answer(output)
    latency = _number(row.get("latency"))
    timestamp = slot.trace["timestamp"] if slot.trace else None
    data = {
        "trace_id": trace_id,
        "input": _json_like(trace_input),
        "output": None if output is None else _json_like(output),
        "session_id": _opt_str(row.get("sessionId")),
        "user_id": _opt_str(row.get("userId")),
        "timestamp": timestamp or (root["start_time"] if root else None),
        "latency_ms": latency * 1000 if latency is not None and latency >= 0 else None,
        "cost_usd": _total_cost(row, steps),
        "steps": steps,
        "feedback": targets["feedback"],
        "scores": targets["score"],
        "metadata": metadata,
    }
    if row.get("name"):
        data["name"] = row["name"]
    return build_trace(
        data,
        file=file,
        line=slot.line,
        raw=lambda: json.dumps({"trace": row, "observations": steps}, default=str).encode()[:65536],
    )


def _json_like(value: Any) -> str | dict[str, Any] | list[Any]:
    return value if isinstance(value, str | dict | list) else json.dumps(value)


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _total_cost(row: dict[str, Any], steps: list[dict[str, Any]]) -> float | None:
    total = _number(row.get("totalCost"))
    if total is not None and total >= 0:
        return total
    costs = [s["cost_usd"] for s in steps if s["cost_usd"] is not None]
    return sum(costs) if costs else None
