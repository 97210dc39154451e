"""Cluster names a reviewer understands, offline: what went wrong, where, on which requests.

A name is built from three things the cluster's traces share:

- the **headline symptom**: the commonest detection among those that point at the cluster's
  root cause (else the commonest with any weight), said in words: "answered from memory, no
  search", "`create_ticket` call rejected: invalid priority value";
- the **failing step**, for symptoms that live on a step (tool errors, timeouts, rejections):
  the step's name, and the gist of its error, read from the evidence (quoted values and numbers
  replaced, so that one gist covers every trace);
- the **request pattern**: the words (a pair if one is common enough, else one word) found in
  most of the cluster's requests, e.g. "Refund policy requests answered from memory".

`unique_names` makes the names of one run unique: a duplicate gets its request pattern, then
its first distinguishing keyword, then its cluster id. The clustering keywords stay with the
record as a secondary line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from triage._evidence import ClusterEvidence
from triage._requests import request_terms

#: Symptoms said of the requests: "<Subject> requests <predicate>".
ANSWER_PHRASES: dict[str, str] = {
    "direct_answer": "answered from memory, no search",
    "retrieval_low_scores": "answered although the search found nothing relevant",
    "needless_clarification": "met with a needless clarifying question",
    "router_fallback": "sent down the router's fallback route",
    "stale_source": "answered from an outdated document",
    "superseded_retrieved": "answered from a superseded document",
    "format_ignored": "answered without the requested format",
    "draft_missing": "answered without the requested draft",
    "citation_not_retrieved": "answered citing a source never retrieved",
    "citation_mismatch": "answered citing a source that does not support it",
    "unknown_addressee": "answered addressing someone the request does not name",
    "wrong_recipient": "answered to the wrong recipient",
    "refusal": "refused: no tool or permission for them",
    "unbacked_action_claim": "answered claiming an action no tool performed",
    "action_request": "asking for an action the agent has no tool for",
    "capability_complaint": "met with complaints that the agent cannot do it",
    "history_ignored": "answered ignoring earlier turns",
    "history_missing": "answered without the earlier turns",
    "context_dropped": "answered from truncated context",
    "retrieval_near_ties": "answered from a weaker of near-tied documents",
    "low_groundedness": "answered without grounding in the retrieved documents",
    "evaluators_disagree": "flagged by judges that disagree with each other",
    "judge_contradicts_user": "flagged by a judge although the user was satisfied",
    "blocked_by_guardrail": "blocked by a guardrail",
    "limit_reached": "stopped at the step or time limit",
    "repeated_action": "stuck repeating the same call",
    "handed_off": "handed off or escalated",
    "empty_retrieval": "answered after a search that returned nothing",
    "latency_outlier": "answered far slower than healthy traffic",
    "cost_outlier": "costing far more than healthy traffic",
    "harm_terms": "answered with harmful or sensitive content",
    "negative_feedback": "answered wrongly, users say",
    "judge_only": "flagged by judges only",
}
#: Symptoms said of a step: "<step> <template>" (``{gist}`` is the error's gist).
STEP_PHRASES: dict[str, str] = {
    "tool_timeout": "timed out",
    "step_timeout": "timed out",
    "tool_argument_error": "call rejected: {gist}",
    "tool_rejected_call": "call refused: {gist}",
    "tool_arguments_off_schema": "called with arguments off its schema: {gist}",
    "infrastructure_error": "failed: {gist}",
    "step_error_other": "failed: {gist}",
    "exception_in_step": "raised an exception: {gist}",
}
NO_SYMPTOM = "answered wrongly, no symptom found"
#: A word (or pair) names the requests when it is in at least this share of them...
SUBJECT_SHARE = 0.3
#: ...and at least this many times as common in them as in healthy requests.
DISTINCT = 2.0
#: A pair replaces its word when it is at least this share as distinctive.
PAIR_SHARE = 0.8
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_NUMBER = re.compile(r"\b\d[\d.,:/-]*\b")
_EXCEPTION = re.compile(r"^\s*[\w.]*(?:Error|Exception)\s*:\s*")


def request_subject(
    requests: Sequence[str], healthy: Mapping[str, float] | None = None
) -> str | None:
    """The words most of ``requests`` share and healthy requests mostly do not (a pair when
    one qualifies, else one word), or None. ``healthy`` is the share of healthy requests that
    carry each term (`Baseline.request_terms`): a word every request has, such as a field
    name of a structured input, names no pattern."""
    if not requests:
        return None
    healthy = healthy or {}
    counts: Counter[str] = Counter()
    for text in requests:
        counts.update(request_terms(text))
    n = len(requests)
    need = max(2, SUBJECT_SHARE * n) if n > 1 else 1

    def lift(term: str) -> float:
        return counts[term] / n - healthy.get(term, 0.0)

    eligible = [
        t for t, c in counts.items() if c >= need and c / n >= DISTINCT * healthy.get(t, 0.0)
    ]
    if not eligible:
        return None
    best = max(eligible, key=lambda t: (lift(t), " " in t, t))
    if " " in best:
        return best
    # A pair holding the best word says more ("refund policy" over "refund") when it is
    # nearly as common.
    pairs = [t for t in eligible if best in t.split() and lift(t) >= PAIR_SHARE * lift(best)]
    return max(pairs, key=lambda t: (lift(t), t)) if pairs else best


def error_gist(text: str, *, limit: int = 60) -> str:
    """An error's first line without its exception class, quoted values and numbers."""
    line = (text.strip().splitlines() or [""])[0]
    line = _EXCEPTION.sub("", line)
    line = _NUMBER.sub("N", _QUOTED.sub("…", line))
    line = " ".join(line.split()).rstrip(" .;:")
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0] + "…"
    return line or "an error"


def headline_symptom(
    evidence: ClusterEvidence, root_cause: str, weights: Mapping[str, tuple[str, float]]
) -> str | None:
    """The symptom to name the cluster by: the commonest that points at ``root_cause``, else
    the commonest with any weight, else the commonest nameable one."""
    rates = evidence.fact_rates
    known = {**ANSWER_PHRASES, **STEP_PHRASES}
    tiers: list[Callable[[str], bool]] = [
        lambda f: weights.get(f, ("", 0.0))[0] == root_cause,
        lambda f: weights.get(f, ("", 0.0))[1] > 0,
        lambda f: True,
    ]
    for keep in tiers:
        chosen = [f for f in rates if f in known and keep(f)]
        if chosen:
            return max(chosen, key=lambda f: (rates[f], weights.get(f, ("", 0.0))[1], f))
    return None


def _step_and_gist(evidence: ClusterEvidence, symptom: str) -> tuple[str, str]:
    steps: Counter[str] = Counter()
    gists: Counter[str] = Counter()
    for item in evidence.items:
        if item.fact != symptom:
            continue
        step, _, rest = item.why.partition(": ")
        steps[step.strip() or "a step"] += 1
        gists[error_gist(rest or item.why)] += 1
    step = steps.most_common(1)[0][0] if steps else "a step"
    gist = gists.most_common(1)[0][0] if gists else "an error"
    return step, gist


def cluster_name(
    evidence: ClusterEvidence,
    root_cause: str,
    requests: Sequence[str],
    weights: Mapping[str, tuple[str, float]],
    healthy_terms: Mapping[str, float] | None = None,
) -> tuple[str, str | None]:
    """(the cluster's name, its request pattern or None)."""
    subject = request_subject(requests, healthy_terms)
    symptom = headline_symptom(evidence, root_cause, weights)
    if symptom in STEP_PHRASES:
        step, gist = _step_and_gist(evidence, symptom)
        name = f"`{step}` " + STEP_PHRASES[symptom].format(gist=gist)
        return name, subject
    predicate = ANSWER_PHRASES.get(symptom or "", NO_SYMPTOM)
    head = f"{subject.capitalize()} requests" if subject else "Requests"
    return f"{head} {predicate}", subject


def unique_names(
    names: Mapping[str, str],
    subjects: Mapping[str, str | None],
    keywords: Mapping[str, Sequence[str]],
    *,
    taken: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Cluster id -> a name no other cluster has (see the module docstring). ``taken`` holds
    the names of clusters not renamed now (the other active clusters): only ``names`` move."""
    out = dict(names)
    others = {cid: name for cid, name in (taken or {}).items() if cid not in out and name}

    def clashes() -> dict[str, list[str]]:
        by_name: dict[str, list[str]] = {}
        for cid, name in [*out.items(), *others.items()]:
            by_name.setdefault(name.lower(), []).append(cid)
        return {n: sorted(c for c in cs if c in out) for n, cs in by_name.items() if len(cs) > 1}

    def extend(cid: str, extra: str | None) -> None:
        if extra and extra.lower() not in out[cid].lower():
            out[cid] = f"{out[cid]} · {extra}"

    for group in clashes().values():
        for cid in group:
            subject = subjects.get(cid)
            extend(cid, f"{subject} requests" if subject else None)
    for group in clashes().values():
        for cid in group:
            words = [w for w in keywords.get(cid, ()) if w.lower() not in out[cid].lower()]
            extend(cid, words[0] if words else None)
    for group in clashes().values():
        for cid in group:
            out[cid] = f"{out[cid]} · {cid}"
    return out
