"""Failure signatures: a short text that says how a trace failed, not only what was asked.

A signature is built from named parts, in the configured order: the ``symptoms`` (how the
trace failed, see `flywheel.detectors`), the failure ``signals``
(kinds, low score names), the ``errors`` of failed steps, the ``path`` taken (route, tools,
retrievals, model calls), written ``feedback``, the low ``scores``, the start of the
``output``, the ``request`` and the ``diagnosis``: one sentence by the ``diagnosis`` LLM
stage on which step went wrong and how (`flywheel.clustering._diagnosis`), off by default; it
costs one LLM call per failing trace, once, as signatures are cached. Volatile details (ids,
numbers, dates, e-mails, URLs, quoted values) are replaced by placeholders, so two traces that
failed the same way read the same.
Every part is cut to ``max_part_chars`` and the whole to ``max_signature_chars`` with a
visible marker; MiniLM reads 256 tokens, so more text would only be ignored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

from flywheel.detectors import Detection, detect
from flywheel.errors import UserError
from flywheel.scores import score_is_bad
from flywheel.trace import FailureSignal, FeedbackKind, SignalKind, StepType, Trace

TRUNCATED = " …[truncated]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<id>",
    ),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\b"), "<date>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<id>"),
    (re.compile(r"#?\b[A-Z]{1,5}\d{4,}\b"), "<id>"),
    (re.compile(r"\b([A-Z]{2,5})-[\w-]+"), r"\1-<id>"),
    (re.compile(r"(?<![\w<])'[^'\n]{1,80}'(?!\w)"), "<v>"),
    (re.compile(r'"[^"\n]{1,80}"'), "<v>"),
    (re.compile(r"(?<![\w<])[-+]?\d+(?:[.,]\d+)*(?:%|ms|s)?\b"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def normalise(text: str) -> str:
    """Replace the volatile parts of ``text`` (ids, numbers, quoted values...) by placeholders."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text.strip()


_NAMES = re.compile(r"(?<=[\w,;)] )(?:[A-Z][\w'’-]+)(?: (?:[A-Z][\w'’-]+|of|de|la))*")


def mask_names(text: str) -> str:
    """Replace capitalised names inside a sentence (people, companies) by ``<name>``."""
    return _NAMES.sub("<name>", text)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with a marker when something was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(TRUNCATED))].rstrip() + TRUNCATED


def signature_hash(text: str) -> str:
    """SHA-256 of a signature: the key of the embedding cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _signals(trace: Trace, signals: Sequence[FailureSignal], limit: int) -> str:
    kinds: list[str] = []
    for signal in sorted(signals, key=lambda s: (s.kind.value, str(s.detail.get("score")))):
        if signal.kind is SignalKind.positive_feedback:
            continue
        name = signal.kind.value.replace("_", " ")
        score = signal.detail.get("score")
        if signal.kind in (SignalKind.low_score, SignalKind.task_failure) and score:
            name = f"{name} {score}"
        if name not in kinds:
            kinds.append(name)
    return ", ".join(kinds)


def _symptoms(trace: Trace, signals: Sequence[FailureSignal], limit: int) -> str:
    features = detect(trace, signals).features()
    return truncate(", ".join(detection.text for detection in features), limit)


def _errors(trace: Trace, signals: Sequence[FailureSignal], limit: int) -> str:
    seen: list[str] = []
    for step in trace.steps:
        if step.error:
            text = f"{step.name or step.type.value}: {normalise(truncate(step.error, limit))}"
            if text not in seen:
                seen.append(text)
    return "; ".join(seen)


def _path(trace: Trace, signals: Sequence[FailureSignal], limit: int) -> str:
    items: list[str] = []
    route = trace.route
    if route is not None:
        via = ""
        for step in trace.steps:
            if step.type is StepType.router and isinstance(step.output, dict):
                via = str(step.output.get("via") or "").split(":")[0]
                break
        items.append(f"route {route}" + (f" via {via}" if via else ""))
    for step in trace.steps:
        if step.type in (StepType.tool, StepType.retriever, StepType.llm, StepType.agent):
            name = step.name or step.type.value
            if step.type is StepType.retriever:
                name = f"retrieve {name}"
            if step.error:
                name += " failed"
            if not items or items[-1] != name:
                items.append(name)
    return truncate(" > ".join(items), limit)


def _feedback(trace: Trace, signals: Sequence[FailureSignal], limit: int) -> str:
    # What a person wrote says how the trace failed; an implicit event a system logged
    # ("case reopened by customer", "repeat contact within 48h") says only *that* it failed,
    # in the same words for every failure, so it would pull different failures together.
    comments = [
        fb.comment for fb in trace.feedback if fb.comment and fb.kind is not FeedbackKind.implicit
    ]
    return truncate(normalise(" | ".join(comments)), limit)


def _scores(trace: Trace, signals: Sequence[FailureSignal], limit: int) -> str:
    # The score signals read each score in its own direction (a high hallucination is bad).
    bad = {
        str(signal.detail["score"])
        for signal in signals
        if signal.kind in (SignalKind.low_score, SignalKind.task_failure)
        and signal.detail.get("score")
    }
    bad.update(s.name for s in trace.scores if score_is_bad(s.name, s.value))
    return ", ".join(f"bad {name}" for name in sorted(bad))


def prose(value: object, limit: int) -> str:
    """The text of a structured value as ``key: text`` pieces, without its JSON syntax.

    Agents often answer with an object (``{"status": "blocked", "summary": "..."}``,
    ``{"reply": "...", "quick_replies": [...]}``). As JSON its quoted keys and values all
    read as the same placeholder, so two answers of different failures looked alike; here the
    words of the strings are kept, each under its key, in the object's order.
    """
    if isinstance(value, str):
        return value
    pieces: list[str] = []
    size = 0

    def walk(item: object, key: str) -> None:
        nonlocal size
        if size > limit:
            return
        if isinstance(item, dict):
            for name, inner in item.items():
                walk(inner, str(name))
        elif isinstance(item, list | tuple):
            for inner in item:
                walk(inner, key)
        elif isinstance(item, str) and item.strip():
            text = " ".join(item.split())
            pieces.append(f"{key}: {text}" if key else text)
            size += len(pieces[-1]) + 2
        elif isinstance(item, bool):
            pieces.append(f"{key}: {str(item).lower()}")
            size += len(pieces[-1]) + 2

    walk(value, "")
    return " | ".join(pieces)


def _output(trace: Trace, signals: Sequence[FailureSignal], limit: int) -> str:
    text = trace.output_text
    if isinstance(trace.output, dict | list) and text.lstrip()[:1] in ("{", "["):
        text = prose(trace.output, 4 * limit)
    return truncate(mask_names(normalise(truncate(text, 4 * limit))), limit)


def _request(trace: Trace, signals: Sequence[FailureSignal], limit: int) -> str:
    return truncate(mask_names(normalise(truncate(trace.input_text, 4 * limit))), limit)


_Part = Callable[[Trace, Sequence[FailureSignal], int], str]

#: The part written by the LLM stage of the same name before the signature is built.
DIAGNOSIS = "diagnosis"

PARTS: dict[str, _Part] = {
    "symptoms": _symptoms,
    "signals": _signals,
    "errors": _errors,
    "path": _path,
    "feedback": _feedback,
    "scores": _scores,
    "output": _output,
    "request": _request,
}


def check_parts(parts: Sequence[str]) -> None:
    """Raise a `UserError` listing the valid parts when one is unknown."""
    valid = [*PARTS, DIAGNOSIS]
    unknown = [part for part in parts if part not in valid]
    if unknown:
        raise UserError(
            f"unknown signature part(s) {', '.join(unknown)} in clustering.signature_parts; "
            f"valid: {', '.join(valid)}"
        )


def build_signature(
    trace: Trace,
    signals: Sequence[FailureSignal] = (),
    *,
    parts: Sequence[str] = ("errors", "feedback", "output"),
    max_part_chars: int = 300,
    max_signature_chars: int = 1200,
    diagnosis: str = "",
) -> str:
    """The failure signature of ``trace``: one ``part: text`` line per non-empty part.

    ``diagnosis`` is the text of the ``diagnosis`` part, written beforehand by the LLM stage.
    Never fails on odd content: empty texts give an empty part, huge steps are cut with a
    marker, any language is kept as is (apart from the placeholders).
    """
    check_parts(parts)
    lines: list[str] = []
    for part in parts:
        try:
            if part == DIAGNOSIS:
                text = truncate(normalise(diagnosis), max_part_chars)
            else:
                text = PARTS[part](trace, signals, max_part_chars)
        except (TypeError, ValueError):  # a producer's odd field never breaks a batch
            text = ""
        if text:
            lines.append(f"{part}: {text}")
    return truncate("\n".join(lines), max_signature_chars) or "(empty trace)"


def structural_features(
    trace: Trace,
    signals: Sequence[FailureSignal] = (),
    detections: Sequence[Detection] | None = None,
) -> list[str]:
    """The symptoms of the failure (the `flywheel.detectors` whose contracts describe how a
    trace failed) as discrete facts.

    They sharpen the clustering next to the embedding: two traces whose texts read alike but
    that failed differently (a citation the answer does not follow, an ignored format,
    evaluators that disagree) stay apart. Signal kinds, error types and routes are left out on
    purpose: the errors are already in the signature text, and one-hot signal kinds (which
    vary at random within a pattern, e.g. a thumbs down given or not) split patterns; on the
    demo world they cut the ARI from 0.83 to 0.51 (`flywheel bench cluster`).
    ``detections``: the trace's stored detections; None runs the detectors now.
    """
    if detections is None:
        features = detect(trace, signals).features()
    else:
        features = [d for d in detections if d.feature]
    return sorted({f"symptom:{d.symptom}" for d in features})


def request_text(trace: Trace, limit: int = 1000) -> str:
    """The user's request alone (the naive baseline's signature)."""
    return truncate(trace.input_text, limit) or "(empty request)"
