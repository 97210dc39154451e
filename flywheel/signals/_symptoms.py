"""Symptoms: generic facts, read from a trace alone, that say *how* it failed.

Failure signals say *that* a trace failed (a thumbs down, a low score); two traces that failed
in different ways often carry the same signals. Symptoms describe the failure itself, from the
structure any agent trace has (evaluator scores, feedback, retrieved documents, citations in
the answer, requested formats, tool errors, step texts), so that clustering can tell the
patterns apart:

- ``evaluators_disagree``: one evaluator score passes clearly while another fails clearly;
- ``judge_contradicts_user``: a user liked an answer a judge failed, or the reverse;
- ``citation_not_retrieved``: the answer cites a source no retrieval step returned;
- ``citation_mismatch``: the answer's words come from another retrieved document than the cited one;
- ``stale_source``: a cited document is much older than the trace, or a newer retrieved
  document has the same title;
- ``unknown_addressee``: the answer greets someone ("Hi Morgan,") whom neither the request
  nor any retrieved document names: a recipient the model made up;
- ``format_ignored``: a requested format (bullets, JSON, table, formal tone) is not met;
- ``empty_retrieval``: a retrieval step returned nothing;
- ``tool_arguments_rejected`` / ``tool_timeout`` / ``tool_error``: how a tool call failed;
- ``blocked_by_guardrail``: a content filter, policy violation or bot check (a CAPTCHA, a
  "verify you are human" page) stopped a step;
- ``exception_in_step``: a step's text holds a stack trace;
- ``limit_reached``: the run hit a time, turn or step limit;
- ``repeated_action``: the same call with the same arguments was made three times or more;
- ``handed_off``: the agent transferred the user to a human.

Symptoms never decide whether a trace failed (they are not evidence of failure on their own);
they only describe it. All thresholds are module constants, documented where they are used.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flywheel.signals._scores import score_goodness, score_rule
from flywheel.trace import FeedbackKind, FeedbackSource, StepType, Trace

#: Evaluator scores at or above this pass clearly, below ``FAIL_LINE`` fail clearly.
PASS_LINE = 0.7
FAIL_LINE = 0.35
#: A cited document older than this (days before the trace) is stale.
STALE_DAYS = 365
#: Characters scanned at each end of a step text for guardrail / exception / limit markers.
SCAN_CHARS = 4000
#: The same call with the same arguments this many times is a repeated action.
REPEATS = 3
#: How much better another retrieved document must match the answer than the cited one
#: (IDF-weighted word overlap, 0..1) for the citation to be a mismatch.
MISMATCH_MARGIN = 0.25
#: Score names that are task outcomes, not evaluator judgements.
OUTCOME_SCORES = frozenset({"reward", "success", "outcome"})

_CITATION = re.compile(r"\[([A-Za-z0-9][\w.:/#-]{0,80})\](?!\()")
_WORD = re.compile(r"[a-z][a-z']{2,}")
_TOKEN = re.compile(r"\w+")
_STOP_WORDS = (
    "the and for with from that this what your our you are was were has have had not but "
    "about into over also its their them they his her she him who whom which when where why "
    "how all any can could would should will may might must been being than then there here "
    "these those such per via use used using"
)
_STOP = frozenset(_STOP_WORDS.split())
_ID_KEYS = ("id", "doc_id", "document_id", "source_id", "uri", "url")
_DATE_KEYS = ("date", "updated_at", "created_at", "modified", "published", "timestamp")
_TEXT_KEYS = ("title", "name", "text", "content", "snippet", "page_content", "summary")
_DOC_LISTS = ("documents", "results", "docs", "hits", "items", "context", "sources")
#: What tells two editions of one document apart in a title: a year or a version.
_EDITION = re.compile(r"\b(?:19|20)\d\d\b|\bv(?:ersion)?\s?\d+(?:\.\d+)*\b|[()\[\]]")
#: A greeting at the start of a line and the name it addresses.
_GREETING = re.compile(
    r"(?m)^[ \t]*(?:Hi|Hello|Dear|Hey|Hiya|Good (?:morning|afternoon|evening))[ \t]+"
    r"([A-Z][\w'’-]+)"
)
#: Greetings to a group name nobody in particular.
_GROUPS = frozenset(
    ["all", "everyone", "team", "there", "sir", "madam", "colleagues", "folks", "friends"]
)
_FORMAT_KEYS = ("format", "response_format", "output_format", "style", "tone")
_BULLET_LINE = re.compile(r"^\s*(?:[-*•‣▪]|\d+[.)])\s+\S", re.M)
_INFORMAL = re.compile(
    r"(?i)(?:^|\n)\s*(?:hey|hi|hiya|yo)\b|\b(?:gonna|wanna|lol|btw|so basically)\b"
)
_ASKED_BULLETS = re.compile(r"(?i)\b(?:bullet(?:s| points?| list)?|as a list|numbered list)\b")
_ASKED_JSON = re.compile(r"(?i)\b(?:in|as|return|valid) json\b")
_ASKED_FORMAL = re.compile(r"(?i)\bformal(?:ly)?\b")
_ARGUMENTS = re.compile(
    r"(?i)invalid|validation|missing (?:required )?(?:argument|parameter|field)|required "
    r"(?:argument|parameter|field)|unexpected (?:keyword )?argument|bad request|\b400\b|"
    r"schema|malformed|must be|expected (?:a|an|one of)|wrong type|unknown (?:field|parameter)|"
    r"\b(?:ValueError|TypeError|ValidationError)\b|\bis not (?:a |an )?(?:valid )?\w+"
)
_TIMEOUT = re.compile(r"(?i)time(?:d)?[ _-]?out|deadline exceeded")
_GUARDRAIL = re.compile(
    r"(?i)content[ _-]?(?:filter|management polic)|policy[ _-]?violation|jailbreak|"
    r"not a robot|captcha|verify (?:that )?you are (?:a )?human|access denied|403 forbidden|"
    r"request blocked|safety system|responsible ?ai"
)
_EXCEPTION = re.compile(r"Traceback \(most recent call last\)|\b\w+(?:Error|Exception): ")
_LIMIT = re.compile(
    r"(?i)max(?:imum)? (?:time|turns|steps|rounds|iterations)\b[^.\n]{0,20}(?:reached|exceeded)|"
    r"(?:turn|step|time|iteration|recursion) limit (?:reached|exceeded)|stalled|"
    r"ran out of (?:time|steps|turns)"
)
_HANDOFF = re.compile(r"(?i)transfer|handoff|hand_off|escalat")


@dataclass(frozen=True)
class Symptom:
    """One fact about how a trace failed: a stable ``name`` and a short ``evidence`` text."""

    name: str
    evidence: str
    step_id: str | None = None

    @property
    def text(self) -> str:
        """The symptom as a reader (and an embedding model) should see it."""
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class _Document:
    id: str
    rank: int
    words: frozenset[str]
    title: str
    title_key: str
    day: date | None


def trace_symptoms(trace: Trace) -> list[Symptom]:
    """Every symptom of ``trace``, each name at most once, in a fixed order."""
    found: dict[str, Symptom] = {}
    for symptom in _all(trace):
        found.setdefault(symptom.name, symptom)
    return list(found.values())


def _all(trace: Trace) -> Iterator[Symptom]:
    yield from _evaluators(trace)
    documents, retrieved = _retrieved(trace)
    yield from _citations(trace, documents, retrieved)
    yield from _addressee(trace, documents)
    yield from _format(trace)
    yield from _tools(trace)
    yield from _texts(trace)


# -- evaluators and feedback -------------------------------------------------------------------


def _evaluators(trace: Trace) -> Iterator[Symptom]:
    # Each judge's value on a 0..1 scale where 1 is good (a high hallucination is a low one).
    judged = [
        (s, score_goodness(s.name, s.value))
        for s in trace.scores
        if s.name.lower() not in OUTCOME_SCORES and score_rule(s.name).threshold is not None
    ]
    high = [s for s, good in judged if good >= PASS_LINE]
    low = [s for s, good in judged if good < FAIL_LINE]
    if high and low:
        yield Symptom(
            "evaluators_disagree",
            f"{high[0].name} {high[0].value:.2f} but {low[0].name} {low[0].value:.2f}",
        )
    liked = disliked = False
    for fb in trace.feedback:
        if fb.source is not FeedbackSource.user or fb.value is None:
            continue
        if fb.kind is FeedbackKind.thumb:
            liked, disliked = liked or fb.value > 0, disliked or fb.value < 0
    if liked and any(good < 0.5 for _, good in judged):
        yield Symptom("judge_contradicts_user", "the user liked an answer a judge scored low")
    if disliked and judged and all(good >= PASS_LINE for _, good in judged):
        yield Symptom("judge_contradicts_user", "every judge passed an answer the user disliked")


# -- retrieval and citations -------------------------------------------------------------------


def _retrieved(trace: Trace) -> tuple[dict[str, _Document], bool]:
    """Documents returned by retrieval (and tool) steps by id, and whether any step retrieved."""
    documents: dict[str, _Document] = {}
    retrieved = False
    for step in trace.steps:
        if step.type not in (StepType.retriever, StepType.tool) or step.error:
            continue
        for rank, item in enumerate(_document_items(step.output)):
            retrieved = True
            doc = _document(item, rank)
            if doc is None:
                continue
            known = documents.get(doc.id)
            # A tool may list bare ids and a retriever the same documents with their fields.
            if known is None or (not known.words and doc.words):
                documents[doc.id] = doc
    return documents, retrieved


def _document_items(output: Any) -> list[Any]:
    if isinstance(output, dict):
        for key in _DOC_LISTS:
            value = output.get(key)
            if isinstance(value, list):
                return value
    if isinstance(output, list):
        return output
    return []


def _document(item: Any, rank: int) -> _Document | None:
    if isinstance(item, str):
        return _Document(item, rank, frozenset(), "", "", None) if len(item) <= 120 else None
    if not isinstance(item, dict):
        return None
    ident = next((str(item[k]) for k in _ID_KEYS if item.get(k) not in (None, "")), None)
    if ident is None:
        return None
    text = " ".join(str(item[k]) for k in _TEXT_KEYS if isinstance(item.get(k), str))
    title = str(item.get("title") or item.get("name") or "")
    day = next((d for k in _DATE_KEYS if (d := _day(item.get(k))) is not None), None)
    title_key = " ".join(_EDITION.sub(" ", title.lower()).split())
    return _Document(ident, rank, _words(text), title, title_key, day)


def _citations(trace: Trace, documents: dict[str, _Document], retrieved: bool) -> Iterator[Symptom]:
    output = trace.output_text
    cited = list(dict.fromkeys(_CITATION.findall(output)))
    if not cited or not retrieved:
        return
    missing = [c for c in cited if c not in documents]
    if missing:
        yield Symptom("citation_not_retrieved", f"cites {missing[0]}, which no step retrieved")
    present = [documents[c] for c in cited if c in documents]
    answer = _words(_CITATION.sub(" ", output))
    if present and answer and all(doc.words for doc in documents.values()):
        weights = _idf(documents.values())
        score = {d.id: _overlap(d.words, answer, weights) for d in documents.values()}
        best = max(documents.values(), key=lambda d: (score[d.id], -d.rank))
        mine = max(score[doc.id] for doc in present)
        if best.id not in cited and score[best.id] >= max(0.5, mine + MISMATCH_MARGIN):
            yield Symptom("citation_mismatch", f"the answer follows {best.id}, not what it cites")
    moment = trace.timestamp.date() if trace.timestamp else None
    for doc in present:
        if doc.day is None:
            continue
        if moment is not None and (moment - doc.day).days > STALE_DAYS:
            yield Symptom("stale_source", f"cites {doc.id} dated {doc.day.isoformat()}")
            return
        # Another edition: the same title up to its numbers (a year, a version), not the
        # very same title (a series such as a weekly digest).
        newer = [
            other.id
            for other in documents.values()
            if other.title_key
            and other.title_key == doc.title_key
            and other.title != doc.title
            and other.day is not None
            and other.day > doc.day
        ]
        if newer:
            yield Symptom("stale_source", f"cites {doc.id}; {newer[0]} is a newer version")
            return


def _addressee(trace: Trace, documents: dict[str, _Document]) -> Iterator[Symptom]:
    greeting = _GREETING.search(trace.output_text)
    if greeting is None:
        return
    name = _TOKEN.findall(greeting.group(1).lower())[0]
    known = set(_TOKEN.findall(trace.input_text.lower()))
    for doc in documents.values():
        known |= doc.words | set(_TOKEN.findall(doc.title.lower()))
    if name not in known and name not in _GROUPS:
        yield Symptom("unknown_addressee", f"greets {greeting.group(1)}, whom no source names")


def _idf(documents: Iterable[_Document]) -> dict[str, float]:
    """Inverse document frequency over the retrieved documents: shared words weigh little."""
    docs = list(documents)
    frequency: Counter[str] = Counter(word for doc in docs for word in doc.words)
    return {word: math.log(len(docs) / n) for word, n in frequency.items()}


def _overlap(doc: frozenset[str], answer: frozenset[str], weights: dict[str, float]) -> float:
    """Share of the document's (IDF-weighted) words that the answer uses."""
    total = sum(weights[w] for w in doc)
    return sum(weights[w] for w in doc & answer) / total if total else 0.0


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return datetime.fromisoformat(value[:10]).date()
    except ValueError:
        return None


# -- format --------------------------------------------------------------------------------------


def _format(trace: Trace) -> Iterator[Symptom]:
    output = trace.output_text
    if not output.strip():
        return
    wanted: list[str] = []
    for step in trace.steps:
        if isinstance(step.input, dict):
            wanted.extend(
                str(step.input[k]).lower()
                for k in _FORMAT_KEYS
                if isinstance(step.input.get(k), str)
            )
    request = trace.input_text
    if _ASKED_BULLETS.search(request):
        wanted.append("bullets")
    if _ASKED_JSON.search(request):
        wanted.append("json")
    if _ASKED_FORMAL.search(request):
        wanted.append("formal")
    for fmt in dict.fromkeys(wanted):
        problem = _format_problem(fmt, output)
        if problem:
            yield Symptom("format_ignored", f"asked for {fmt}: {problem}")
            return


def _format_problem(fmt: str, output: str) -> str:
    if "bullet" in fmt or fmt in ("list", "markdown_list", "numbered"):
        return "" if len(_BULLET_LINE.findall(output)) >= 2 else "no list in the answer"
    if "json" in fmt:
        try:
            json.loads(output)
        except ValueError:
            return "the answer is not JSON"
        return ""
    if "table" in fmt:
        return "" if output.count("|") >= 4 else "no table in the answer"
    if "formal" in fmt:
        return "informal wording" if _INFORMAL.search(output) else ""
    return ""


# -- tools and step texts ----------------------------------------------------------------------


def _tools(trace: Trace) -> Iterator[Symptom]:
    calls: Counter[str] = Counter()
    for step in trace.steps:
        empty = isinstance(step.output, dict | list) and not _document_items(step.output)
        if step.type is StepType.retriever and not step.error and empty:
            yield Symptom(
                "empty_retrieval", f"{step.name or 'retrieval'} returned nothing", step.id
            )
        if step.type not in (StepType.tool, StepType.retriever):
            continue
        name = step.name or step.type.value
        if _HANDOFF.search(name):
            yield Symptom("handed_off", f"called {name}", step.id)
        if step.error:
            error = step.error[:SCAN_CHARS]
            if _TIMEOUT.search(error):
                yield Symptom("tool_timeout", f"{name} timed out", step.id)
            elif _ARGUMENTS.search(error):
                yield Symptom("tool_arguments_rejected", f"{name} rejected its arguments", step.id)
            else:
                yield Symptom("tool_error", f"{name} failed", step.id)
        calls[f"{name}:{_canonical(step.input)}"] += 1
    repeated = [call for call, n in calls.items() if n >= REPEATS]
    if repeated:
        yield Symptom(
            "repeated_action", f"{repeated[0].split(':')[0]} repeated with same arguments"
        )


def _canonical(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)[:500]
    except (TypeError, ValueError):
        return str(value)[:500]


def _texts(trace: Trace) -> Iterator[Symptom]:
    texts: list[tuple[str | None, str]] = [(None, trace.output_text)]
    for step in trace.steps:
        if isinstance(step.output, str) and step.output:
            texts.append((step.id, step.output))
        elif isinstance(step.output, dict | list):
            texts.append((step.id, _canonical(step.output)))
    for step_id, text in texts:
        # Errors land at the end of long texts (the last line of a stack trace): read both ends.
        head = text if len(text) <= 2 * SCAN_CHARS else f"{text[:SCAN_CHARS]}\n{text[-SCAN_CHARS:]}"
        if _GUARDRAIL.search(head):
            yield Symptom(
                "blocked_by_guardrail", "a content filter or bot check stopped a step", step_id
            )
        if _EXCEPTION.search(head):
            yield Symptom("exception_in_step", "a step's text holds an exception", step_id)
        if _LIMIT.search(head):
            yield Symptom("limit_reached", "the run hit a time, turn or step limit", step_id)
