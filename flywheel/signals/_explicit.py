"""Signals a trace carries on itself: feedback, evaluator scores, step errors, task reward.

Strengths (how strongly one signal alone says the trace failed):

- a reviewer's negative verdict of any kind (thumbs down, low rating, complaint, correction)
  is a ``reviewer_label`` at 1.0: reviewers are the ground truth teams calibrate against;
- a user's thumbs down 0.9, a system's 0.7; implicit negative feedback a producer recorded 0.5
  (a value of 0 or below, or, without a value, an event or state that says so: an escalation,
  a reopened case, changes requested; `flywheel.signals._verdicts`);
- a user's low rating 0.6 at the low-rating line up to 0.9 at the bottom of the scale;
- a user's correction 0.8, a written complaint 0.7;
- a score on the bad side of its threshold (below it where higher is better, above it where
  higher is worse: `flywheel.signals.score_rule`) 0.5 just past the line up to 1.0 at twice
  the threshold's distance from zero, so with the default failing threshold a score past its
  line fails the trace on its own;
- ``reward == 0`` (tau-bench's outcome) is a ``task_failure`` at 1.0;
- a step error 0.6, a timeout 0.7; 0.25 when a later call of the same step succeeded.

Positive thumbs and high ratings (at least 80 % of the scale) become ``positive_feedback``:
they soften the combined score, and they are what shows a judge disagreeing with users.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from flywheel.config import SignalsConfig
from flywheel.scores import score_rule
from flywheel.signals._complaints import matcher_for
from flywheel.signals._text import first_line, quote
from flywheel.signals._verdicts import STATE_FIELDS, Verdict, feedback_verdict
from flywheel.trace import (
    FailureSignal,
    Feedback,
    FeedbackKind,
    FeedbackSource,
    SignalKind,
    Step,
    StepType,
    Trace,
)

NEGATIVE_THUMB = {FeedbackSource.user: 0.9, FeedbackSource.system: 0.7}
REVIEWER = 1.0
IMPLICIT_NEGATIVE = 0.5
IMPLICIT_POSITIVE = 0.3
CORRECTION = 0.8
COMPLAINT = 0.7
STEP_ERROR = 0.6
TIMEOUT = 0.7
RECOVERED = 0.25
#: A rating at or above this fraction of its scale is positive feedback.
HIGH_RATING_FRACTION = 0.8
#: The score whose zero means the task failed (tau-bench's outcome).
REWARD_SCORE = "reward"

_TIMEOUT = re.compile(r"time(?:d)?[ _-]?out|deadline", re.IGNORECASE)
_ERROR_TYPE = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Timeout|Exceeded))\b")


def explicit_signals(trace: Trace, config: SignalsConfig) -> list[FailureSignal]:
    """Feedback, score and error signals of one trace, in that order."""
    signals: list[FailureSignal] = []
    for feedback in trace.feedback:
        signals.extend(_feedback_signals(feedback, config))
    for score in trace.scores:
        signal = _score_signal(score.name, score.value, config, score.source)
        if signal is not None:
            signals.append(signal)
    signals.extend(_error_signals(trace.steps))
    return signals


def _feedback_signals(fb: Feedback, config: SignalsConfig) -> Iterator[FailureSignal]:
    who = fb.source.value
    said = f": {quote(fb.comment)}" if fb.comment else ""
    detail: dict[str, object] = {"source": who, "feedback_kind": fb.kind.value}
    if fb.value is not None:
        detail["value"] = fb.value
    if fb.comment:
        detail["comment"] = fb.comment[:500]
    negative = _negative_feedback(fb, config, who, said)
    if negative is not None:
        kind, strength, evidence = negative
        if fb.source is FeedbackSource.reviewer:
            kind, strength, evidence = SignalKind.reviewer_label, REVIEWER, f"reviewer {evidence}"
        else:
            evidence = f"{who} {evidence}"
        yield FailureSignal(kind=kind, strength=strength, evidence=evidence, detail=detail)
        return
    positive = _positive_strength(fb)
    if positive is not None:
        strength, what = positive
        yield FailureSignal(
            kind=SignalKind.positive_feedback,
            strength=strength,
            evidence=f"{who} {what}{said}",
            detail=detail,
        )
        return
    # A neutral thumb or rating can still carry a written complaint.
    if fb.comment and fb.kind is not FeedbackKind.comment:
        complaint = _complaint(fb, config, who)
        if complaint is not None:
            kind, strength, evidence = complaint
            if fb.source is FeedbackSource.reviewer:
                kind, strength = SignalKind.reviewer_label, REVIEWER
            yield FailureSignal(kind=kind, strength=strength, evidence=evidence, detail=detail)


def _negative_feedback(
    fb: Feedback, config: SignalsConfig, who: str, said: str
) -> tuple[SignalKind, float, str] | None:
    value = fb.value
    if fb.kind is FeedbackKind.thumb and value is not None and value < 0:
        strength = NEGATIVE_THUMB.get(fb.source, REVIEWER)
        return SignalKind.negative_feedback, strength, f"thumbs down{said}"
    if fb.kind is FeedbackKind.implicit and value is not None and value <= 0:
        return SignalKind.negative_feedback, IMPLICIT_NEGATIVE, f"implicit negative feedback{said}"
    if fb.kind is FeedbackKind.rating and value is not None:
        scale = _scale(fb)
        line = config.low_rating_fraction * scale
        if value <= line:
            depth = 1.0 if line <= 0 else min(1.0, max(0.0, (line - value) / line))
            strength = round(0.6 + 0.3 * depth, 4)
            return SignalKind.low_rating, strength, f"rating {value:g}/{scale:g}{said}"
    if fb.kind is FeedbackKind.correction:
        return SignalKind.correction, CORRECTION, f"correction{said}"
    if fb.kind is FeedbackKind.comment and fb.comment:
        complaint = _complaint(fb, config, who)
        if complaint is not None:
            kind, strength, _ = complaint
            return kind, strength, f"complaint{said}"
    if value is None and _verdict(fb) == "negative":
        if fb.kind is FeedbackKind.thumb:
            strength = NEGATIVE_THUMB.get(fb.source, REVIEWER)
            return SignalKind.negative_feedback, strength, f"thumbs down{_state(fb)}{said}"
        if fb.kind is FeedbackKind.implicit:
            return SignalKind.negative_feedback, IMPLICIT_NEGATIVE, f"implicit negative{said}"
        return SignalKind.complaint, COMPLAINT, f"{fb.kind.value} marked negative{_state(fb)}{said}"
    return None


def _verdict(fb: Feedback) -> Verdict | None:
    """The verdict of a value-less record: its state fields, and for implicit events (which a
    system writes in its own words) the comment too; a person's comment goes through the
    complaint patterns instead."""
    comment = fb.comment if fb.kind is FeedbackKind.implicit else None
    return feedback_verdict(comment, fb.model_extra or {})


def _state(fb: Feedback) -> str:
    extra = fb.model_extra or {}
    states = [f"{name} {extra[name]}" for name in STATE_FIELDS if isinstance(extra.get(name), str)]
    return f" ({', '.join(states)})" if states else ""


def _complaint(
    fb: Feedback, config: SignalsConfig, who: str
) -> tuple[SignalKind, float, str] | None:
    phrases = matcher_for(tuple(config.complaint_phrases)).find(fb.comment or "")
    if not phrases:
        return None
    return SignalKind.complaint, COMPLAINT, f"{who} complaint: {quote(fb.comment or '')}"


def _positive_strength(fb: Feedback) -> tuple[float, str] | None:
    top = REVIEWER if fb.source is FeedbackSource.reviewer else 0.8
    value = fb.value
    if value is None and _verdict(fb) == "positive":
        return IMPLICIT_POSITIVE, f"{fb.kind.value} marked positive{_state(fb)}"
    if value is None or value <= 0:
        return None
    if fb.kind is FeedbackKind.thumb:
        return top, "thumbs up"
    if fb.kind is FeedbackKind.implicit:
        return IMPLICIT_POSITIVE, "implicit positive feedback"
    if fb.kind is FeedbackKind.rating:
        scale = _scale(fb)
        fraction = min(1.0, value / scale)
        if fraction >= HIGH_RATING_FRACTION:
            return round(top * fraction, 4), f"rating {value:g}/{scale:g}"
    return None


def _scale(fb: Feedback) -> float:
    """The rating's maximum: as given, else 5 for values above 1, else 1 (a fraction).

    A bare rating of exactly 1 is thus read as a perfect fraction, not one star out of five:
    producers of star ratings should send ``scale``.
    """
    if fb.scale is not None:
        return fb.scale
    return 5.0 if (fb.value or 0) > 1 else 1.0


def _score_signal(
    name: str, value: float, config: SignalsConfig, source: str | None
) -> FailureSignal | None:
    by = f" ({source})" if source else ""
    detail: dict[str, object] = {"score": name, "value": value}
    if name.lower() == REWARD_SCORE and value <= 0:
        return FailureSignal(
            kind=SignalKind.task_failure,
            strength=1.0,
            evidence=f"task reward {value:g}{by}: the task was not accomplished",
            detail=detail,
        )
    rule = score_rule(name, config.scores)
    threshold = rule.threshold
    if threshold is None or not rule.is_bad(value):
        return None
    span = abs(threshold) if threshold != 0 else 1.0
    gap = threshold - value if rule.higher_is_better else value - threshold
    depth = min(1.0, gap / span)
    detail["threshold"] = threshold
    detail["higher_is_better"] = rule.higher_is_better
    side = "below" if rule.higher_is_better else "above"
    return FailureSignal(
        kind=SignalKind.low_score,
        strength=round(0.5 + 0.5 * depth, 4),
        evidence=f"score '{name}'{by} {value:g} {side} its threshold {threshold:g}",
        detail=detail,
    )


def _error_signals(steps: list[Step]) -> Iterator[FailureSignal]:
    """One signal per failing step; a parent that only re-raises its child's error is skipped.

    An error the agent recovered from (a later step of the same name and type succeeded: a
    retry, a corrected call) is weak evidence, `RECOVERED` alone does not fail a trace: healthy
    traffic is full of transient errors that a retry absorbed.
    """
    failed = [(position, step) for position, step in enumerate(steps) if step.error]
    succeeded_after = _last_success(steps)
    child_errors: dict[str, set[str]] = {}
    for _, step in failed:
        if step.parent_id is not None:
            child_errors.setdefault(step.parent_id, set()).add(first_line(step.error or ""))
    for position, step in failed:
        line = first_line(step.error or "")
        if line in child_errors.get(step.id, ()):
            continue
        is_timeout = bool(_TIMEOUT.search(step.error or ""))
        error_type = _ERROR_TYPE.search(step.error or "")
        label = step.name or step.id
        recovered = succeeded_after.get((step.name, step.type), -1) > position
        strength = RECOVERED if recovered else TIMEOUT if is_timeout else STEP_ERROR
        yield FailureSignal(
            kind=SignalKind.timeout if is_timeout else SignalKind.step_error,
            strength=strength,
            evidence=f"{step.type.value} step '{label}' {'timed out' if is_timeout else 'failed'}"
            f"{', then succeeded on a later call' if recovered else ''}: {line}",
            step_id=step.id,
            detail={
                "step_name": step.name,
                "step_type": step.type.value,
                "error_type": error_type.group(1) if error_type else None,
                "error": (step.error or "")[:500],
                "recovered": recovered,
            },
        )


def _last_success(steps: list[Step]) -> dict[tuple[str | None, StepType], int]:
    """(name, type) → the position of the last step of that name and type without an error."""
    last: dict[tuple[str | None, StepType], int] = {}
    for position, step in enumerate(steps):
        if not step.error and step.name:
            last[(step.name, step.type)] = position
    return last
