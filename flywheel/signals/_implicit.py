"""Signals read from the rest of a session: the user asking again, or leaving unanswered.

**Repeat / rephrase.** The next request in the same session (by timestamp, from the same user
when both name one) that comes within ``session_window_s`` and whose token-Jaccard similarity
to this trace's request is at least ``repeat_similarity`` (a ``repeat``, 0.5) or
``rephrase_similarity`` (a ``rephrase``, 0.4) marks *this* trace: the user had to ask again.
Requests of fewer than three words are not compared ("yes", "ok" recur in any dialogue). When
the input is a chat transcript, the last user message is the request, so a growing history is
not mistaken for a repetition.

**Abandonment** (0.3, conservative on purpose). A trace is abandoned when all of:
it is the last trace of its session; the session has been quiet since for at least
``session_window_s`` (measured against ``now``, which `detect_failures` sets to the newest
trace timestamp in the store, so that results depend on data, not on the wall clock); and its
answer left the user without a result: an empty answer, an error in one of its steps, or an answer
that ends by asking the user a question (a closing "anything else?" courtesy does not count).
A user who leaves after a good answer is satisfied, not gone, so ending a session is never
evidence on its own.

Traces without a session id or a timestamp get no implicit signal: there is no order to read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from flywheel.config import SignalsConfig
from flywheel.signals._text import epoch, quote
from flywheel.trace import FailureSignal, SignalKind, Trace, as_text

REPEAT = 0.5
REPHRASE = 0.4
ABANDONMENT = 0.3
MIN_WORDS = 3

_TOKEN = re.compile(r"\w+")
_COURTESY = re.compile(
    r"(anything else|something else|(can|may) i help|help you with|further (questions|help)"
    r"|other questions)[^?]*\?\s*$",
    re.IGNORECASE,
)


def implicit_signals(
    trace: Trace, session: Sequence[Trace], config: SignalsConfig, now: datetime | None
) -> list[FailureSignal]:
    """Repeat, rephrase and abandonment signals of ``trace`` given its session's traces."""
    if trace.session_id is None or trace.timestamp is None:
        return []
    start = epoch(trace.timestamp)
    later = sorted(
        (
            (epoch(other.timestamp), other.trace_id, other)
            for other in session
            if other.trace_id != trace.trace_id
            and other.session_id == trace.session_id
            and other.timestamp is not None
            and (epoch(other.timestamp), other.trace_id) > (start, trace.trace_id)
        ),
        key=lambda item: (item[0], item[1]),
    )
    if later:
        at, _, follow_up = later[0]
        signal = _asked_again(trace, follow_up, at - start, config)
        return [signal] if signal is not None else []
    if now is not None and epoch(now) - start >= config.session_window_s:
        signal = _abandoned(trace, config)
        return [signal] if signal is not None else []
    return []


def request_text(trace: Trace) -> str:
    """The user's request: the last user message of a chat input, else the input as text."""
    messages: object = trace.input
    if isinstance(messages, dict):
        messages = messages.get("messages")
    if isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages):
        users = [m for m in messages if m.get("role") in ("user", "human")]
        if users:
            return as_text(users[-1].get("content"))
    return trace.input_text


def similarity(a: str, b: str) -> float | None:
    """Token Jaccard similarity of two requests; None when either is too short to judge."""
    left, right = set(_TOKEN.findall(a.lower())), set(_TOKEN.findall(b.lower()))
    if len(left) < MIN_WORDS or len(right) < MIN_WORDS:
        return None
    return len(left & right) / len(left | right)


def _asked_again(
    trace: Trace, follow_up: Trace, gap_s: float, config: SignalsConfig
) -> FailureSignal | None:
    if gap_s > config.session_window_s:
        return None
    if trace.user_id and follow_up.user_id and trace.user_id != follow_up.user_id:
        return None
    next_request = request_text(follow_up)
    score = similarity(request_text(trace), next_request)
    if score is None or score < min(config.rephrase_similarity, config.repeat_similarity):
        return None
    repeated = score >= config.repeat_similarity
    verb = "repeated the request" if repeated else "rephrased the request"
    return FailureSignal(
        kind=SignalKind.repeat if repeated else SignalKind.rephrase,
        strength=REPEAT if repeated else REPHRASE,
        evidence=f"the user {verb} {gap_s:.0f}s later in trace {follow_up.trace_id}: "
        f"{quote(next_request)}",
        detail={
            "next_trace_id": follow_up.trace_id,
            "similarity": round(score, 4),
            "gap_s": round(gap_s, 3),
        },
    )


def _abandoned(trace: Trace, config: SignalsConfig) -> FailureSignal | None:
    answer = trace.output_text.strip()
    errors = trace.errors
    if trace.output is not None and not answer:
        why = "the answer was empty"
    elif errors:
        why = f"step '{errors[0].name or errors[0].id}' failed"
    elif answer.endswith("?") and not _COURTESY.search(answer):
        why = f"the answer asked the user a question ({quote(answer[-160:], 80)})"
    else:
        return None
    return FailureSignal(
        kind=SignalKind.abandonment,
        strength=ABANDONMENT,
        evidence=f"session {trace.session_id} ended here: {why}, and the user did not come back "
        f"within {config.session_window_s:g}s",
        step_id=errors[0].id if errors and answer else None,
        detail={"session_id": trace.session_id},
    )
