"""Facts about one trace that point at a root cause, each tied to the step that shows it.

Every detector reads the generic trace model (OpenInference step kinds, router outputs,
retriever documents, errors, scores, feedback), never one agent's strings: a fact fires when
its evidence is present and names the step (or the trace, ``step_id=None``) that carries it.
Comparisons with healthy traffic (route mix, latency, retrieval scores) use a `Baseline`.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flywheel.signals import score_goodness
from flywheel.trace import FailureSignal, FeedbackKind, Step, StepType, Trace, as_text

#: Every fact the detectors know, in a fixed order (the feature vector of a cluster).
FACTS: tuple[str, ...] = (
    "direct_answer",
    "router_fallback",
    "needless_clarification",
    "retrieval_low_scores",
    "retrieval_near_ties",
    "tool_argument_error",
    "step_timeout",
    "step_error_other",
    "tool_rejected_call",
    "guardrail_block",
    "latency_outlier",
    "cost_outlier",
    "stale_citation",
    "superseded_retrieved",
    "citation_mismatch",
    "citation_unretrieved",
    "draft_missing",
    "format_ignored",
    "wrong_recipient",
    "invented_name",
    "refusal",
    "unbacked_action_claim",
    "action_request",
    "capability_complaint",
    "judge_disagreement",
    "judge_only",
    "history_ignored",
    "context_dropped",
    "low_groundedness",
    "negative_feedback",
    "harm_terms",
)

_TIMEOUT = re.compile(r"time[d ]?\s?out|timeout|deadline exceeded|\b(408|504)\b", re.I)
_ARGUMENT = re.compile(
    r"valueerror|typeerror|validation|invalid|not a valid|expected|missing required|"
    r"unexpected (keyword|argument)|must be|bad request|\b(400|422)\b|schema|format",
    re.I,
)
_INFRA = re.compile(
    r"\b(5\d\d|429)\b|connection|unavailable|rate.?limit|overloaded|out of memory|refused|"
    r"reset by peer|internal server error|bad gateway",
    re.I,
)
_GUARDRAIL = re.compile(
    r"content.?filter|content management policy|policyviolation|policy violation|"
    r"blocked by (a )?(cloudflare|captcha|safety|guardrail)|captcha|access denied",
    re.I,
)
_CLARIFY = re.compile(
    r"\b(clarify|could you (specify|tell me more|be more specific)|what (exactly )?do you mean|"
    r"which (one|account|customer|item|order) do you|can you specify)\b",
    re.I,
)
_REFUSAL = re.compile(
    r"\b(i\s*(can(?:'|no)?t|cannot|am (not able|unable)|'m (not able|unable)|don't have "
    r"(access|a tool|the ability|permission))|not (supported|possible from here)|"
    r"unable to (do|help with) that|beyond what i can do)\b",
    re.I,
)
_ACTION_CLAIM = re.compile(
    r"\b(done[!.]|i have (taken care|updated|cancell?ed|booked|refunded|changed|deleted|sent|"
    r"scheduled|processed)|has been (updated|cancell?ed|booked|refunded|changed|deleted|"
    r"processed))",
    re.I,
)
_ACTION_REQUEST = re.compile(
    r"^\s*(please\s+)?(can you\s+|could you\s+)?(update|cancel|book|refund|delete|change|"
    r"transfer|reset|schedule|issue|order|pay|submit|edit|remove|close)\b",
    re.I,
)
_CAPABILITY_COMPLAINT = re.compile(
    r"can'?t do (basic|simple|anything)|cannot do|doesn'?t (support|let me)|no way to|"
    r"useless|not able to do",
    re.I,
)
_DRAFT_REQUEST = re.compile(
    r"\b(draft|write|compose|prepare)\b[^.?!]{0,40}\b(e-?mail|reply|message|letter|note|response)\b",
    re.I,
)
_DRAFT_SHAPE = re.compile(r"^\s*(subject:|(hi|hello|dear|hey)\b)", re.I | re.M)
_BULLET_REQUEST = re.compile(r"\b(bullet(s|ed)?( points?| list)?|as a list|numbered list)\b", re.I)
_BULLETS = re.compile(r"^\s*([-*•]|\d+[.)])\s+", re.M)
_FORMAL_REQUEST = re.compile(r"\b(formal|professional)\b", re.I)
_INFORMAL = re.compile(
    r"\b(hey|so basically|gonna|wanna|lol|btw)\b|!|^\s*(hi|hello)\b", re.I | re.M
)
_GREETING_NAME = re.compile(r"^\s*(?:[Hh]i|[Hh]ello|[Dd]ear|[Hh]ey)\s+([A-Z][a-z]+)", re.M)
#: "to Bill at Initech", "to Miles Dyson from Cyberdyne": the request names a person.
_RECIPIENT = re.compile(r"\bto\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\s+(?:at|from|of)\s+[A-Z]")
_CITATION = re.compile(r"\[([A-Za-z0-9][\w.:/-]{1,80})\]")
_ANAPHORA = re.compile(r"\b(it|that|them|those|these|this one|the same|as before|again)\b", re.I)
_ENTITY = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-z]{2,}|\d")
_HARM = re.compile(
    r"\b(refund|payment|invoice|charge[ds]?|wire|bank|credit card|ssn|social security|"
    r"password|passport|medical|diagnos\w+|suicid\w+|weapon|lawsuit|legal action|"
    r"personal data|privacy|gdpr)\b",
    re.I,
)
_GROUNDED_SCORE = re.compile(r"ground|faithful|support|context", re.I)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "to",
        "and",
        "or",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "is",
        "are",
        "was",
        "be",
        "our",
        "your",
        "my",
        "me",
        "i",
        "you",
        "it",
        "this",
        "that",
        "what",
        "who",
        "how",
        "about",
        "as",
    ]
)
_YEARISH = re.compile(
    r"\b(19|20)\d\d\b|\bv\d+\b|\(.*?\)|\b(old|new|draft|final|current|latest)\b", re.I
)
_ID_VERSION = re.compile(r"[-_.]?(v\d+|draft|old|new|final|current|latest|\d{4})$", re.I)


@dataclass(frozen=True)
class Fact:
    """One fact fired on one trace: which, where (step id or None for the trace), and why."""

    name: str
    step_id: str | None
    why: str


@dataclass(frozen=True)
class Document:
    id: str
    score: float | None
    date: date | None
    title: str


@dataclass
class Baseline:
    """Healthy traffic: what the facts compare a failing trace with."""

    traces: int = 0
    route_share: dict[str, float] = field(default_factory=dict)
    tool_share: dict[str, float] = field(default_factory=dict)
    latency_p95: float | None = None
    cost_p95: float | None = None
    top_score_median: float | None = None
    citation_rate: float = 0.0

    @classmethod
    def from_traces(cls, traces: Iterable[Trace]) -> Baseline:
        routes: Counter[str] = Counter()
        tools: Counter[str] = Counter()
        latencies: list[float] = []
        costs: list[float] = []
        tops: list[float] = []
        cited = searched = n = 0
        for trace in traces:
            n += 1
            routes[trace.route or "(none)"] += 1
            tools.update(s.name for s in trace.steps if s.type is StepType.tool)
            if trace.latency_ms is not None:
                latencies.append(trace.latency_ms)
            if trace.cost_usd is not None:
                costs.append(trace.cost_usd)
            docs = retrieved_documents(trace)
            scores = [d.score for _, d in docs if d.score is not None]
            if scores:
                tops.append(max(scores))
            if docs:
                searched += 1
                cited += bool(_CITATION.search(trace.output_text))
        total_tools = sum(tools.values()) or 1
        return cls(
            traces=n,
            route_share={r: c / n for r, c in routes.items()} if n else {},
            tool_share={t: c / total_tools for t, c in tools.items()},
            latency_p95=_quantile(latencies, 0.95),
            cost_p95=_quantile(costs, 0.95),
            top_score_median=statistics.median(tops) if tops else None,
            citation_rate=cited / searched if searched else 0.0,
        )


def _quantile(values: Sequence[float], q: float) -> float | None:
    if len(values) < 5:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- step readers --------------------------------------------------------------------------


def router_step(trace: Trace) -> Step | None:
    return next((s for s in trace.steps if s.type is StepType.router), None)


def retrieved_documents(trace: Trace) -> list[tuple[Step, Document]]:
    """Documents returned by retriever steps (or tool steps returning documents)."""
    found: list[tuple[Step, Document]] = []
    retrievers = [s for s in trace.steps if s.type in (StepType.retriever, StepType.reranker)]
    steps = retrievers or [s for s in trace.steps if s.type is StepType.tool]
    for step in steps:
        output = step.output
        items = output.get("documents") if isinstance(output, dict) else output
        if not isinstance(items, list):
            continue
        for item in items:
            doc = _document(item)
            if doc is not None:
                found.append((step, doc))
    return found


def _document(item: Any) -> Document | None:
    if isinstance(item, str):
        return Document(item, None, None, "")
    if not isinstance(item, dict):
        return None
    ident = item.get("id") or item.get("document_id") or item.get("doc_id")
    if ident is None:
        return None
    score = item.get("score")
    raw_date = item.get("date") or item.get("updated_at") or item.get("published")
    return Document(
        str(ident),
        float(score) if isinstance(score, int | float) else None,
        _parse_date(raw_date),
        str(item.get("title") or ""),
    )


def _parse_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value[:10]).date()
    except ValueError:
        return None


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def _history(trace: Trace) -> list[str]:
    if isinstance(trace.input, dict):
        history = trace.input.get("history")
        if isinstance(history, list):
            return [as_text(item) for item in history]
    return []


def _answer_step(trace: Trace) -> Step | None:
    llms = [s for s in trace.steps if s.type is StepType.llm]
    return llms[-1] if llms else None


# -- the detectors -------------------------------------------------------------------------


def trace_facts(trace: Trace, signals: Sequence[FailureSignal], baseline: Baseline) -> list[Fact]:
    """Every fact that fires on ``trace`` (a failing trace, with its failure signals)."""
    facts: list[Fact] = []
    request = trace.input_text
    output = trace.output_text
    answer = _answer_step(trace)
    answer_id = answer.id if answer else None
    router = router_step(trace)
    docs = retrieved_documents(trace)
    tool_steps = [s for s in trace.steps if s.type is StepType.tool]
    facts.extend(_routing_facts(trace, router, docs, tool_steps, request, output, baseline))
    facts.extend(_error_facts(trace, baseline))
    facts.extend(_retrieval_facts(request, docs, output, answer_id, baseline))
    facts.extend(_instruction_facts(trace, request, output, docs, answer_id))
    facts.extend(_capability_facts(trace, request, output, tool_steps, answer_id))
    facts.extend(_score_facts(trace, signals, docs))
    facts.extend(_context_facts(trace, request, output, router))
    if _HARM.search(" ".join([request, output, *_comments(trace)])):
        facts.append(Fact("harm_terms", None, "money, safety or privacy terms in the exchange"))
    return facts


def _routing_facts(
    trace: Trace,
    router: Step | None,
    docs: Sequence[tuple[Step, Document]],
    tool_steps: Sequence[Step],
    request: str,
    output: str,
    baseline: Baseline,
) -> list[Fact]:
    facts: list[Fact] = []
    route = trace.route
    if router is not None and isinstance(router.output, dict):
        via = str(router.output.get("via") or router.output.get("reason") or "")
        confidence = router.output.get("similarity", router.output.get("confidence"))
        low = isinstance(confidence, int | float) and confidence < 0.35
        if "fallback" in via.lower() or "default" in via.lower() or low:
            facts.append(
                Fact("router_fallback", router.id, f"route '{route}' chosen by {via or 'router'}")
            )
    searched_often = sum(
        share for name, share in baseline.route_share.items() if name not in ("(none)",)
    )
    if route is not None and not docs and not tool_steps and searched_often:
        rare = baseline.route_share.get(route, 0.0) < 0.5
        if not _CLARIFY.search(output) and (rare or _ENTITY.search(request)):
            facts.append(
                Fact(
                    "direct_answer",
                    router.id if router else None,
                    f"answered on route '{route}' without retrieval or tools "
                    f"({baseline.route_share.get(route, 0.0):.0%} of healthy traffic)",
                )
            )
    if _CLARIFY.search(output) and output.rstrip().endswith("?") and _ENTITY.search(request):
        step = router.id if router else None
        facts.append(
            Fact("needless_clarification", step, "asked to clarify a request naming its subject")
        )
    return facts


def _error_facts(trace: Trace, baseline: Baseline) -> list[Fact]:
    facts: list[Fact] = []
    for step in trace.steps:
        if not step.error:
            continue
        first = step.error.strip().splitlines()[0][:160]
        if _TIMEOUT.search(step.error):
            facts.append(Fact("step_timeout", step.id, f"{step.name}: {first}"))
        elif _GUARDRAIL.search(step.error):
            facts.append(Fact("guardrail_block", step.id, f"{step.name}: {first}"))
        elif step.type is StepType.tool and _ARGUMENT.search(step.error):
            facts.append(Fact("tool_argument_error", step.id, f"{step.name}: {first}"))
        elif step.type is StepType.tool and not _INFRA.search(step.error):
            facts.append(Fact("tool_rejected_call", step.id, f"{step.name}: {first}"))
        else:
            facts.append(Fact("step_error_other", step.id, f"{step.name}: {first}"))
    if not any(f.name == "guardrail_block" for f in facts):
        for step in trace.steps:
            text = as_text(step.output) if step.output is not None else ""
            found = _GUARDRAIL.search(text)
            if found:
                quoted = text[max(0, found.start() - 40) : found.end() + 40]
                why = f"{step.name or step.type.value}: '{quoted}'"
                facts.append(Fact("guardrail_block", step.id, why))
                break
    if baseline.latency_p95 and trace.latency_ms and trace.latency_ms > 2 * baseline.latency_p95:
        slow = max(trace.steps, key=lambda s: s.latency_ms or 0.0, default=None)
        facts.append(
            Fact(
                "latency_outlier",
                slow.id if slow else None,
                f"{trace.latency_ms:.0f} ms vs healthy p95 {baseline.latency_p95:.0f} ms",
            )
        )
    if baseline.cost_p95 and trace.cost_usd and trace.cost_usd > 2 * baseline.cost_p95:
        facts.append(
            Fact("cost_outlier", None, f"${trace.cost_usd:.4f} vs p95 ${baseline.cost_p95:.4f}")
        )
    return facts


def version_groups(docs: Sequence[Document]) -> list[list[Document]]:
    """Documents that look like versions of one another (same id stem, or titles equal but
    for years / version words), with different dates. Identical titles alone (a weekly
    digest) are a series, not versions."""
    groups: dict[str, list[Document]] = {}
    for doc in docs:
        if doc.date is None:
            continue
        groups.setdefault("id:" + _ID_VERSION.sub("", doc.id).lower(), []).append(doc)
        if doc.title:
            stripped = " ".join(_YEARISH.sub(" ", doc.title).lower().split())
            groups.setdefault("title:" + stripped, []).append(doc)
    out: list[list[Document]] = []
    for key, group in groups.items():
        unique = list({d.id: d for d in group}.values())
        if len(unique) < 2 or len({d.date for d in unique}) < 2:
            continue
        if key.startswith("title:") and len({d.title for d in unique}) < 2:
            continue
        if not any(set(unique) <= set(seen) for seen in out):
            out.append(unique)
    return out


def _retrieval_facts(
    request: str,
    docs: Sequence[tuple[Step, Document]],
    output: str,
    answer_id: str | None,
    baseline: Baseline,
) -> list[Fact]:
    facts: list[Fact] = []
    if not docs:
        return facts
    step = docs[0][0]
    scores = [d.score for _, d in docs if d.score is not None]
    median = baseline.top_score_median
    if scores and median and max(scores) < 0.6 * median and not _ENTITY.search(request):
        facts.append(
            Fact(
                "retrieval_low_scores",
                step.id,
                f"searched a request naming no subject; top score {max(scores):.2f} vs healthy "
                f"median {median:.2f}",
            )
        )
    if (
        len(scores) >= 3
        and max(scores) > 0
        and (max(scores) - sorted(scores)[-3]) < 0.05 * max(scores)
    ):
        facts.append(Fact("retrieval_near_ties", step.id, "top documents nearly tied"))
    by_id = {d.id: d for _, d in docs}
    cited = _CITATION.findall(output)
    dup_groups = version_groups([d for _, d in docs])
    for group in dup_groups:
        ranked = [d for _, d in docs if d in group]
        newest = max(group, key=lambda d: d.date or date.min)
        if ranked[0] is not newest:
            facts.append(
                Fact(
                    "superseded_retrieved",
                    step.id,
                    f"[{ranked[0].id}] ({ranked[0].date}) outranks its newer version "
                    f"[{newest.id}] ({newest.date})",
                )
            )
            break
    for ident in cited:
        doc = by_id.get(ident)
        if doc is None:
            facts.append(
                Fact("citation_unretrieved", answer_id, f"cites [{ident}], never retrieved")
            )
            continue
        newer = [
            other
            for group in dup_groups
            if doc in group
            for other in group
            if other.date and doc.date and other.date > doc.date
        ]
        if newer:
            facts.append(
                Fact(
                    "stale_citation",
                    answer_id,
                    f"cites [{doc.id}] ({doc.date}) while [{newer[0].id}] ({newer[0].date}) "
                    "supersedes it",
                )
            )
            continue
        if doc.title:
            text = _words(_CITATION.sub(" ", output))
            own = len(text & _words(doc.title))
            best = max(
                (d for _, d in docs if d.id != doc.id and d.title),
                key=lambda d: len(text & _words(d.title)),
                default=None,
            )
            if best is not None and len(text & _words(best.title)) >= own + 2:
                facts.append(
                    Fact(
                        "citation_mismatch",
                        answer_id,
                        f"answer matches [{best.id}] '{best.title}' but cites [{doc.id}]",
                    )
                )
    return facts


def _instruction_facts(
    trace: Trace,
    request: str,
    output: str,
    docs: Sequence[tuple[Step, Document]],
    answer_id: str | None,
) -> list[Fact]:
    facts: list[Fact] = []
    clarifying = bool(_CLARIFY.search(output))
    asked_draft = _DRAFT_REQUEST.search(request) and not _DRAFT_SHAPE.search(output)
    if asked_draft and not clarifying and not _REFUSAL.search(output) and not trace.errors:
        facts.append(Fact("draft_missing", answer_id, "a draft was requested, none returned"))
    if _BULLET_REQUEST.search(request) and not _BULLETS.search(output) and not clarifying:
        facts.append(Fact("format_ignored", answer_id, "a list was requested, prose returned"))
    elif _FORMAL_REQUEST.search(request) and _INFORMAL.search(output) and not clarifying:
        facts.append(Fact("format_ignored", answer_id, "a formal tone was requested"))
    for name in _GREETING_NAME.findall(output):
        known = " ".join(
            [request, *_history(trace), *(d.title for _, d in docs), *(d.id for _, d in docs)]
        )
        context_text = " ".join(
            as_text(s.output) for s in trace.steps if s.type in (StepType.tool, StepType.retriever)
        )
        if name.lower() in (known + " " + context_text).lower():
            continue
        named = _RECIPIENT.findall(request)
        if named:
            facts.append(
                Fact(
                    "wrong_recipient",
                    answer_id,
                    f"addresses '{name}' although the request names {named[0]}",
                )
            )
        else:
            facts.append(
                Fact("invented_name", answer_id, f"addresses '{name}', named nowhere in the input")
            )
    return facts


def _capability_facts(
    trace: Trace, request: str, output: str, tool_steps: Sequence[Step], answer_id: str | None
) -> list[Fact]:
    facts: list[Fact] = []
    if _REFUSAL.search(output) and not trace.errors:
        facts.append(Fact("refusal", answer_id, f"refused: '{output[:80]}'"))
    if _ACTION_CLAIM.search(output) and not any(not s.error for s in tool_steps):
        facts.append(
            Fact("unbacked_action_claim", answer_id, "claims an action that no tool performed")
        )
    if _ACTION_REQUEST.search(request) and not tool_steps:
        facts.append(
            Fact("action_request", None, f"asks for an action no tool ran for: '{request[:80]}'")
        )
    for comment in _comments(trace):
        if _CAPABILITY_COMPLAINT.search(comment):
            facts.append(Fact("capability_complaint", None, f"user: '{comment[:80]}'"))
            break
    return facts


def _comments(trace: Trace) -> list[str]:
    return [f.comment for f in trace.feedback if f.comment]


def _score_facts(
    trace: Trace, signals: Sequence[FailureSignal], docs: Sequence[tuple[Step, Document]]
) -> list[Fact]:
    facts: list[Fact] = []
    negative_user = any(
        (f.kind is FeedbackKind.thumb and (f.value or 0) < 0) or f.kind is FeedbackKind.correction
        for f in trace.feedback
    ) or any(s.kind.value in ("complaint", "negative_feedback", "low_rating") for s in signals)
    positive_user = any(f.kind is FeedbackKind.thumb and (f.value or 0) > 0 for f in trace.feedback)
    if negative_user:
        facts.append(Fact("negative_feedback", None, "the user gave negative feedback"))
    kinds = {s.kind.value for s in signals if not s.positive}
    judged = kinds <= {"low_score"} and "low_score" in kinds
    # On one scale where 1 is good: a high hallucination is a low score.
    values = [score_goodness(s.name, s.value) for s in trace.scores]
    spread = max(values) - min(values) if len(values) >= 2 else 0.0
    if judged and not trace.errors:
        facts.append(Fact("judge_only", None, "flagged only by judge scores"))
        if spread >= 0.5 or positive_user:
            low = min(trace.scores, key=lambda s: score_goodness(s.name, s.value))
            high = max(trace.scores, key=lambda s: score_goodness(s.name, s.value))
            why = (
                f"{low.name}={low.value:.2f} but {high.name}={high.value:.2f}"
                if spread >= 0.5
                else f"{low.name}={low.value:.2f} while the user gave a thumbs up"
            )
            facts.append(Fact("judge_disagreement", None, why))
    if docs:
        for score in trace.scores:
            if _GROUNDED_SCORE.search(score.name) and score.value < 0.4:
                facts.append(
                    Fact(
                        "low_groundedness", None, f"{score.name}={score.value:.2f} after retrieval"
                    )
                )
                break
    return facts


def _context_facts(trace: Trace, request: str, output: str, router: Step | None) -> list[Fact]:
    facts: list[Fact] = []
    for step in trace.steps:
        if step.type is not StepType.chain:
            continue
        given = step.input.get("candidates") if isinstance(step.input, dict) else None
        kept = step.output.get("context") if isinstance(step.output, dict) else None
        truncated = bool(step.metadata.get("truncated"))
        if truncated or (
            isinstance(given, list) and isinstance(kept, list) and len(kept) < len(given)
        ):
            facts.append(Fact("context_dropped", step.id, "context kept fewer documents"))
    history = _history(trace)
    if history and _ANAPHORA.search(request) and not _ENTITY.search(request):
        earlier = _words(" ".join(history)) - _words(request)
        if earlier and not (earlier & _words(output)):
            facts.append(
                Fact(
                    "history_ignored",
                    router.id if router else None,
                    "refers back to earlier turns; the answer uses none of them",
                )
            )
    return facts
