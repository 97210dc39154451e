"""Judgements carried on OpenTelemetry spans: feedback and evaluations, however a team wrote them.

Three shapes are read (see `flywheel.formats.otlp` for the whole mapping):

- OpenInference annotations (``annotations.N.annotation.*``, ``evaluations.N.evaluation.*``);
- evaluation results as plain attributes (``eval.<name>``, ``<name>.score``...);
- feedback as span events: an event whose name, or whose attributes' namespace, is a feedback
  word (``feedback.submitted`` with ``feedback.value``, ``memo.rated`` with ``rating.value``,
  ``analyst.reask``, ``slack.reaction_added``), its value, scale, comment and source read with
  or without that namespace.
"""

from __future__ import annotations

import re
from typing import Any

_ANNOTATION_KEY = re.compile(
    r"^(?:trace\.)?(?:annotations\.(\d+)\.annotation|evaluations\.(\d+)\.evaluation)\.(\w+)$"
)

#: ``eval.faithfulness``, ``eval.hallucination.score``, ``evaluation.toxicity.label``,
#: ``hallucination.score``: evaluation results as plain span attributes.
_EVAL_KEY = re.compile(
    r"^(?:(?:eval|evals|evaluation|evaluations)\.(?P<name>[\w-]+)"
    r"(?:\.(?P<field>score|value|label|explanation|reason))?"
    r"|(?P<bare>[\w-]+)\.(?P<bare_field>score))$"
)
#: Namespaces whose ``*.score`` attributes are not evaluations (a retrieved document's score).
_NOT_EVAL = ("retrieval.", "reranker.", "llm.", "gen_ai.", "embedding.", "document.")
#: Span events that carry feedback (besides any name ending in "feedback").
_FEEDBACK_EVENTS = {
    "feedback",
    "user_feedback",
    "user.feedback",
    "thumbs",
    "thumb",
    "rating",
    "annotation",
    "human_feedback",
    "correction",
    "comment",
    "escalation",
    "reopened",
}
#: Words that make an event (by a part of its name, or its attributes' namespace) feedback.
_FEEDBACK_WORDS = frozenset(
    {
        "feedback",
        "user_feedback",
        "rating",
        "rated",
        "rate",
        "thumb",
        "thumbs",
        "vote",
        "voted",
        "reaction",
        "reaction_added",
        "annotation",
        "correction",
        "corrected",
        "escalation",
        "escalated",
        "reopened",
        "reask",
        "complaint",
    }
)
#: The feedback kind an event's name implies, first match wins; any other event keeps its name
#: as its kind (``escalation``, ``feedback``), which `Feedback` maps to a kind and value.
_KIND_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("correction", frozenset({"correction", "corrected"})),
    ("rating", frozenset({"rating", "rated", "rate"})),
    ("thumb", frozenset({"thumb", "thumbs", "vote", "voted", "reaction", "reaction_added"})),
    ("implicit", frozenset({"reask", "reopened", "escalated", "complaint"})),
)
_COMMENT_KEYS = frozenset({"comment", "text", "message", "reason", "note", "explanation"})
_WORD_SPLIT = re.compile(r"[.\s/:-]+")
_THUMB_WORDS = {"thumb", "thumbs", "like", "user_feedback", "user-feedback", "feedback"}
_THUMB_LABELS = {
    "up": 1.0,
    "down": -1.0,
    "thumbs_up": 1.0,
    "thumbs_down": -1.0,
    "thumbs-up": 1.0,
    "thumbs-down": -1.0,
    "👍": 1.0,
    "👎": -1.0,
    "positive": 1.0,
    "negative": -1.0,
    "good": 1.0,
    "bad": -1.0,
}


def span_annotations(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for key in list(attrs):
        match = _ANNOTATION_KEY.match(key)
        if match is None:
            continue
        form = "annotation" if match.group(1) is not None else "evaluation"
        index = int(match.group(1) or match.group(2))
        found.setdefault((form, index), {})[match.group(3)] = attrs.pop(key)
    return [found[key] for key in sorted(found)]


def evaluation_attributes(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    """Scores written as plain attributes (``eval.<name>``...), taken out of ``attrs``."""
    found: dict[str, dict[str, Any]] = {}
    for key in list(attrs):
        if key.startswith(_NOT_EVAL):
            continue
        match = _EVAL_KEY.match(key)
        if match is None:
            continue
        name = match.group("name") or match.group("bare")
        part = match.group("field") or match.group("bare_field") or "score"
        if part == "value":
            part = "score"
        if part == "reason":
            part = "explanation"
        value = attrs[key]
        if part == "score" and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                continue
        if part == "score" and (isinstance(value, bool) or not isinstance(value, int | float)):
            continue
        found.setdefault(name, {"name": name, "annotator_kind": "LLM"})[part] = value
        attrs.pop(key)
    return [found[name] for name in sorted(found)]


def is_feedback_event(name: Any, attrs: dict[str, Any]) -> bool:
    """A feedback event: its name, or the namespace of its attributes, is a feedback word
    (``feedback.submitted`` with ``feedback.value``, ``memo.rated`` with ``rating.value``,
    ``analyst.reask``, ``slack.reaction_added``...)."""
    if not isinstance(name, str):
        return False
    text = name.strip().lower()
    if text in _FEEDBACK_EVENTS or text.endswith("feedback"):
        return True
    if set(_WORD_SPLIT.split(text)) & _FEEDBACK_WORDS:
        return True
    return any(key.split(".", 1)[0].lower() in _FEEDBACK_WORDS for key in attrs if "." in key)


def event_feedback(name: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """A feedback event as an annotation-like record with ``feedback`` ready for `Feedback`."""
    prefix = f"{name}."
    flat = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in attrs.items()}
    flat = {_unprefixed(k): v for k, v in flat.items()}
    kind = flat.get("kind") or flat.get("type") or _event_kind(name)
    keys = ("value", "score", "rating", "thumb", "reaction")
    value = next((flat[k] for k in keys if k in flat), None)
    if isinstance(value, str):
        label = value.strip().lower()
        value = _THUMB_LABELS.get(label, value)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                value = None
    record: dict[str, Any] = {"kind": kind, "value": value}
    for key, text in flat.items():
        if isinstance(text, str) and key.rsplit(".", 1)[-1] in _COMMENT_KEYS:
            record["comment"] = text
            break
    source = flat.get("source") or flat.get("annotator_kind") or flat.get("by")
    if source is not None:
        record["source"] = str(source).lower()
    if isinstance(flat.get("scale"), int | float) and flat["scale"] > 0:
        record["scale"] = flat["scale"]
    if isinstance(flat.get("reaction"), str):
        record["reaction"] = flat["reaction"]
    record["event"] = name
    return {"feedback": record}


def _unprefixed(key: str) -> str:
    """``rating.value`` → ``value``: a feedback word as the first part of a key is a namespace."""
    head, _, rest = key.partition(".")
    return rest if rest and head.lower() in _FEEDBACK_WORDS else key


def _event_kind(name: str) -> str:
    """The feedback kind an event's name implies (its own name when none does)."""
    words = set(_WORD_SPLIT.split(name.strip().lower()))
    for kind, implied_by in _KIND_WORDS:
        if words & implied_by:
            return kind
    return name


def judgement(annotation: dict[str, Any], step_id: str | None) -> tuple[str, dict[str, Any]]:
    """("feedback" | "score" | "metadata", record) for one OpenInference annotation."""
    if isinstance(annotation.get("feedback"), dict):  # a feedback event, already shaped
        event = {k: v for k, v in annotation["feedback"].items() if v is not None}
        return "feedback", {**event, **({"step_id": step_id} if step_id else {})}
    name = annotation.get("name")
    score = annotation.get("score")
    label = annotation.get("label")
    explanation = annotation.get("explanation")
    kind = str(annotation.get("annotator_kind") or "").upper()
    numeric = (
        float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None
    )
    extra = {"step_id": step_id} if step_id else {}
    if kind == "HUMAN":
        record: dict[str, Any] = {"source": "user", "name": name, **extra}
        thumb = _thumb(name, numeric, label)
        if thumb is not None:
            record.update(kind="thumb", value=thumb)
        elif numeric is not None:
            record.update(kind="rating", value=numeric)
        else:
            record.update(kind="comment")
        comment = explanation or (label if record["kind"] != "thumb" else None)
        if comment:
            record["comment"] = str(comment)
        if label is not None:
            record["label"] = label
        return "feedback", record
    if numeric is not None and name:
        record = {"name": str(name), "value": numeric, "source": kind.lower() or None}
        if explanation:
            record["comment"] = str(explanation)
        if label is not None:
            record["label"] = label
        return "score", {**record, **extra}
    return "metadata", {**annotation, **extra}


def _thumb(name: Any, score: float | None, label: Any) -> float | None:
    if isinstance(label, str) and label.strip().lower() in _THUMB_LABELS:
        return _THUMB_LABELS[label.strip().lower()]
    if score in (-1, 0, 1) and str(name or "").strip().lower() in _THUMB_WORDS:
        return 1.0 if score == 1 else -1.0
    return None
