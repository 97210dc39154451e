"""Built-in detectors that read what surrounded the answer: earlier turns, the context the
model was given, retrieval scores, evaluators and feedback, and what the request is about."""

from __future__ import annotations

import re
from collections.abc import Iterator

from flywheel.detectors._answer import ENTITY
from flywheel.detectors._registry import Finding, Symptom, detector
from flywheel.detectors._text import words
from flywheel.detectors._view import TraceView
from flywheel.scores import score_goodness, score_rule
from flywheel.trace import FeedbackKind, FeedbackSource, Score

#: Evaluator scores at or above this pass clearly, below ``FAIL_LINE`` fail clearly. (A
#: looser rule, any two scores 0.5 apart, also fired on answers that merely missed a format,
#: and as a clustering feature merged those with the miscalibrated judges of the demo.)
PASS_LINE = 0.7
FAIL_LINE = 0.35
#: Score names that are task outcomes, not evaluator judgements.
OUTCOME_SCORES = frozenset({"reward", "success", "outcome"})
#: A groundedness-like score under this, after retrieval, is low.
LOW_GROUNDEDNESS = 0.4
#: Top-3 retrieval scores within this share of the best are near ties.
NEAR_TIE = 0.05

_ANAPHORA = re.compile(r"(?i)\b(?:it|that|them|those|these|this one|the same|as before|again)\b")
#: Explicit references to an earlier part of the conversation.
_BACK_REFERENCE = re.compile(
    r"(?i)\b(?:as (?:i|you|we) (?:said|mentioned|asked|discussed|told you)|"
    r"(?:you|i) (?:just )?(?:said|mentioned|told (?:me|you)|asked about)|"
    r"(?:my|your|the) (?:previous|last|earlier|first) (?:question|message|answer|request|reply)|"
    r"the (?:first|second|third|other|last) one|same (?:one|thing|as before)|as before|"
    r"(?:go|going) back to|(?:what|how) about (?:it|that|those|them|the other)|"
    r"earlier (?:you|i|we)|from before)\b"
)
_HARM = re.compile(
    r"(?i)\b(?:refund|payment|invoice|charge[ds]?|wire|bank|credit card|ssn|social security|"
    r"password|passport|medical|diagnos\w+|suicid\w+|weapon|lawsuit|legal action|"
    r"personal data|privacy|gdpr)\b"
)
_ACTION_REQUEST = re.compile(
    r"(?i)^\s*(?:please\s+)?(?:can you\s+|could you\s+)?(?:update|cancel|book|refund|delete|"
    r"change|transfer|reset|schedule|issue|order|pay|submit|edit|remove|close)\b"
)
_CAPABILITY_COMPLAINT = re.compile(
    r"(?i)can'?t do (?:basic|simple|anything)|cannot do|doesn'?t (?:support|let me)|no way to|"
    r"useless|not able to do"
)
_GROUNDED_SCORE = re.compile(r"(?i)ground|faithful|support|context")


@detector(
    "history",
    reads=("earlier turns (history, chat_history, messages, llm.input_messages)", "trace.input"),
    # Word-overlap and phrase heuristics: evidence enough for triage, too loose to shape
    # clusters (on the demo, history_ignored also fires on failures of no labelled mode, and as
    # a feature it flipped HDBSCAN's size choice on one of two weeks: 0.88 -> 0.83 ARI).
    emits={
        "history_ignored": Symptom("memory_multiturn", 0.8, feature=False),
        "history_missing": Symptom("memory_multiturn", 0.7, feature=False),
    },
)
def detect_history(view: TraceView) -> Iterator[Finding]:
    """A request that refers back to earlier turns: the answer uses none of them although the
    trace holds them, or the trace holds no earlier turn at all."""
    request = view.request
    step = view.router.id if view.router else view.answer_id
    history = view.history
    if not history:
        found = _BACK_REFERENCE.search(request)
        if found:
            yield Finding(
                "history_missing",
                f"refers back ('{found.group(0)}') but the model saw no earlier turn",
                step,
            )
        return
    if _ANAPHORA.search(request) and not ENTITY.search(request):
        earlier = words(" ".join(history)) - words(request)
        if earlier and not (earlier & words(view.output)):
            yield Finding(
                "history_ignored",
                "refers back to earlier turns; the answer uses none of them",
                step,
            )


@detector(
    "truncation",
    reads=(
        "context-builder steps (truncated, dropped_documents, candidates vs context)",
        "step texts",
    ),
    emits={"context_dropped": Symptom("context_construction", 0.8)},
)
def detect_truncation(view: TraceView) -> Iterator[Finding]:
    """A step dropped or cut material before the model saw it, and said so."""
    notices = view.truncations
    if notices:
        yield Finding("context_dropped", notices[0].evidence, notices[0].step_id)


@detector(
    "retrieval_ties",
    reads=("retrieved documents (scores)",),
    emits={"retrieval_near_ties": Symptom("retrieval_ranking", 0.35, feature=False)},
)
def detect_near_ties(view: TraceView) -> Iterator[Finding]:
    """The top three retrieved documents scored nearly the same (hard negatives)."""
    by_step: dict[str, list[float]] = {}
    for doc in view.retrieval.documents:
        if doc.score is not None:
            by_step.setdefault(doc.step_id, []).append(doc.score)
    for step_id, scores in by_step.items():
        top = sorted(scores, reverse=True)[:3]
        if len(top) == 3 and top[0] > 0 and top[0] - top[2] < NEAR_TIE * top[0]:
            yield Finding("retrieval_near_ties", "top documents nearly tied", step_id)
            return


@detector(
    "groundedness",
    reads=("trace.scores", "retrieved documents"),
    emits={"low_groundedness": Symptom("retrieval_ranking", 0.45, feature=False)},
)
def detect_low_groundedness(view: TraceView) -> Iterator[Finding]:
    """A groundedness-like score is low although retrieval ran."""
    if not view.retrieval.documents:
        return
    for score in view.trace.scores:
        if _GROUNDED_SCORE.search(score.name) and score.value < LOW_GROUNDEDNESS:
            yield Finding("low_groundedness", f"{score.name}={score.value:.2f} after retrieval")
            return


#: Feedback sources that are people (a system's implicit event is not an approval).
PEOPLE = ("user", "reviewer")


@detector(
    "evaluators",
    reads=("trace.scores", "trace.feedback"),
    emits={
        "evaluators_disagree": Symptom("evaluation_scorer", 0.85),
        "judge_contradicts_user": Symptom("evaluation_scorer", 0.85),
    },
)
def detect_evaluators(view: TraceView) -> Iterator[Finding]:
    """One evaluator passes an answer clearly while another fails it clearly, or a judge
    contradicts the user's thumb (task outcomes such as a reward are not evaluators)."""
    # Each judge on one 0..1 scale where 1 is good: a high hallucination is a low score.
    judged = [
        (s, score_goodness(s.name, s.value))
        for s in view.trace.scores
        if s.name.lower() not in OUTCOME_SCORES and score_rule(s.name).threshold is not None
    ]
    if judged:
        (lo, worst), (hi, best) = min(judged, key=_goodness), max(judged, key=_goodness)
        if best >= PASS_LINE and worst < FAIL_LINE:
            yield Finding(
                "evaluators_disagree", f"{lo.name}={lo.value:.2f} but {hi.name}={hi.value:.2f}"
            )
    thumbs = [
        fb.value
        for fb in view.trace.feedback
        if fb.source is FeedbackSource.user and fb.kind is FeedbackKind.thumb and fb.value
    ]
    # A person's approval in any form the signals read as positive (a high rating, a review
    # approved, a PR merged) contradicts a failing judge as a thumbs up does.
    approved = any(s.positive and s.detail.get("source") in PEOPLE for s in view.signals)
    liked, disliked = approved or any(v > 0 for v in thumbs), any(v < 0 for v in thumbs)
    if liked and any(good < 0.5 for _, good in judged):
        lo = min(judged, key=_goodness)[0]
        yield Finding(
            "judge_contradicts_user", f"{lo.name}={lo.value:.2f} while a person approved it"
        )
    elif disliked and judged and all(good >= PASS_LINE for _, good in judged):
        yield Finding("judge_contradicts_user", "every judge passed an answer the user disliked")


def _goodness(item: tuple[Score, float]) -> float:
    return item[1]


@detector(
    "harm",
    reads=("trace.input", "trace.output", "feedback comments"),
    emits={"harm_terms": Symptom(feature=False)},
)
def detect_harm(view: TraceView) -> Iterator[Finding]:
    """Money, safety or privacy terms in the exchange (for severity, not a failure mode)."""
    found = _HARM.search(" ".join([view.request, view.output, *view.comments]))
    if found:
        yield Finding("harm_terms", f"'{found.group(0)}' in the exchange")


@detector(
    "action_request",
    reads=("trace.input", "tool steps"),
    emits={"action_request": Symptom("missing_capability", 0.8, feature=False)},
)
def detect_action_request(view: TraceView) -> Iterator[Finding]:
    """The request asks for an action (cancel, refund, update...) and no tool ran."""
    if _ACTION_REQUEST.search(view.request) and not view.tool_steps:
        yield Finding(
            "action_request", f"asks for an action no tool ran for: '{view.request[:80]}'"
        )


@detector(
    "capability_complaint",
    reads=("feedback comments",),
    emits={"capability_complaint": Symptom("missing_capability", 0.8, feature=False)},
)
def detect_capability_complaint(view: TraceView) -> Iterator[Finding]:
    """A user's comment says the agent cannot do something basic."""
    for comment in view.comments:
        if _CAPABILITY_COMPLAINT.search(comment):
            yield Finding("capability_complaint", f"user: '{comment[:80]}'")
            return
