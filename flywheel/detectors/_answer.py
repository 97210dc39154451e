"""Built-in detectors that read the answer against what the agent had: citations, sources'
age, the addressee, the requested format and artefact, refusals and claimed actions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date

from flywheel.detectors._documents import Document
from flywheel.detectors._registry import Finding, Symptom, detector
from flywheel.detectors._text import as_words, idf, overlap, words
from flywheel.detectors._view import TraceView
from flywheel.trace import StepType, as_text

#: A cited document older than this (days before the trace) is stale.
STALE_DAYS = 365
#: How much better another retrieved document must match the answer than the cited one
#: (IDF-weighted word overlap, 0..1) for the citation to be a mismatch.
MISMATCH_MARGIN = 0.25

#: "[POL-7]", "[doc_3]", "[1]": a bracketed id, not a markdown link "[text](url)".
_CITATION = re.compile(r"\[([A-Za-z0-9][\w.:/#-]{0,80})\](?!\()")
#: A bracketed word is an id only if it holds a digit or an id's punctuation ("[truncated]",
#: "[x]" and "[Link]" are not citations), unless a retrieved document has that very id.
_ID_LIKE = re.compile(r"\d|[-_.:/#]")
_GREETING = re.compile(
    r"(?m)^[ \t]*(?:Hi|Hello|Dear|Hey|Hiya|Good (?:morning|afternoon|evening))[ \t,]+"
    r"([A-Z][\w'’-]+)"
)
#: Greetings to a group name nobody in particular.
_GROUPS = frozenset(
    ["all", "everyone", "team", "there", "sir", "madam", "colleagues", "folks", "friends"]
)
#: "to Bill at Initech", "to Miles Dyson from Cyberdyne": the request names a person.
_RECIPIENT = re.compile(r"\bto\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\s+(?:at|from|of)\s+[A-Z]")
_FORMAT_KEYS = ("format", "response_format", "output_format", "style", "tone")
_BULLET_LINE = re.compile(r"^\s*(?:[-*•‣▪]|\d+[.)])\s+\S", re.M)
_INFORMAL = re.compile(
    r"(?i)(?:^|\n)\s*(?:hey|hi|hiya|yo)\b|\b(?:gonna|wanna|lol|btw|so basically)\b"
)
_ASKED_BULLETS = re.compile(
    r"(?i)\b(?:bullet(?:s|ed)?(?: points?| list)?|as a list|numbered list)\b"
)
_ASKED_JSON = re.compile(r"(?i)\b(?:in|as|return|valid) json\b")
_ASKED_FORMAL = re.compile(r"(?i)\bformal(?:ly)?\b")
CLARIFY = re.compile(
    r"(?i)\b(?:clarify|could you (?:specify|tell me more|be more specific)|"
    r"what (?:exactly )?do you mean|which (?:one|account|customer|item|order) do you|"
    r"can you specify)\b"
)
REFUSAL = re.compile(
    r"(?i)\b(?:i\s*(?:can(?:'|no)?t|cannot|am (?:not able|unable)|'m (?:not able|unable)|"
    r"don't have (?:access|a tool|the ability|permission))|not (?:supported|possible from here)|"
    r"unable to (?:do|help with) that|beyond what i can do)\b"
)
_ACTION_CLAIM = re.compile(
    r"(?i)\b(?:done[!.]|i have (?:taken care|updated|cancell?ed|booked|refunded|changed|deleted|"
    r"sent|scheduled|processed)|has been (?:updated|cancell?ed|booked|refunded|changed|deleted|"
    r"processed))"
)
_DRAFT_REQUEST = re.compile(
    r"(?i)\b(?:draft|write|compose|prepare)\b[^.?!]{0,40}\b"
    r"(?:e-?mail|reply|message|letter|note|response)\b"
)
_DRAFT_SHAPE = re.compile(r"(?im)^\s*(?:subject:|(?:hi|hello|dear|hey)\b)")
#: A capitalised word not at a sentence start, or a digit: the request names its subject.
ENTITY = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-z]{2,}|\d")


def names_subject(text: str) -> bool:
    """Whether a request names what it is about (a proper name or a number)."""
    return ENTITY.search(text) is not None


def asks_to_clarify(text: str) -> bool:
    """Whether an answer asks the user to clarify."""
    return CLARIFY.search(text) is not None


def citations(text: str, known: dict[str, Document]) -> list[str]:
    """The ids ``text`` cites, in order, once each."""
    found = [c for c in dict.fromkeys(_CITATION.findall(text)) if c in known or _ID_LIKE.search(c)]
    return found


def resolve(
    cited: str, documents: tuple[Document, ...], known: dict[str, Document]
) -> Document | None:
    """The document a citation names: by id, or "[n]" for the n-th document retrieved."""
    if cited in known:
        return known[cited]
    if cited.isdigit() and 1 <= int(cited) <= len(documents):
        return documents[int(cited) - 1]
    return None


@detector(
    "citations",
    reads=("trace.output", "retrieved documents (ids, titles, texts)"),
    emits={
        "citation_not_retrieved": Symptom("prompt_instruction", 0.7),
        "citation_mismatch": Symptom("prompt_instruction", 0.8),
    },
)
def detect_citations(view: TraceView) -> Iterator[Finding]:
    """The answer cites a source no step retrieved, or cites one document while its words come
    from another retrieved document."""
    retrieval = view.retrieval
    known = retrieval.by_id()
    cited = citations(view.output, known)
    if not cited or not retrieval.retrieved:
        return
    resolved = {c: resolve(c, retrieval.documents, known) for c in cited}
    missing = [c for c, doc in resolved.items() if doc is None]
    if missing:
        yield Finding(
            "citation_not_retrieved",
            f"cites [{missing[0]}], which no step retrieved",
            view.answer_id,
        )
    present = [doc for doc in resolved.values() if doc is not None]
    answer = words(_CITATION.sub(" ", view.output))
    documents = retrieval.documents
    if not present or not answer or not all(doc.words for doc in documents):
        return
    weights = idf(doc.words for doc in documents)
    score = {d.id: overlap(d.words, answer, weights) for d in documents}
    best = max(documents, key=lambda d: (score[d.id], -d.rank))
    mine = max(score[doc.id] for doc in present)
    if best not in present and score[best.id] >= max(0.5, mine + MISMATCH_MARGIN):
        strength = min(1.0, 0.5 + score[best.id] - mine)
        yield Finding(
            "citation_mismatch",
            f"the answer follows [{best.id}] '{best.title}' but cites [{present[0].id}]",
            view.answer_id,
            strength,
        )


def editions(documents: tuple[Document, ...]) -> list[list[Document]]:
    """Groups of retrieved documents that are editions of one another (same id stem, or titles
    equal but for years / version words), with different dates. Identical titles alone (a
    weekly digest) are a series, not editions."""
    groups: dict[str, list[Document]] = {}
    for doc in documents:
        if doc.day is not None:
            for key in doc.edition_keys:
                groups.setdefault(key, []).append(doc)
    out: list[list[Document]] = []
    for key, group in groups.items():
        if len(group) < 2 or len({d.day for d in group}) < 2:
            continue
        if key.startswith("title:") and len({d.title for d in group}) < 2:
            continue
        if not any({d.id for d in group} <= {d.id for d in seen} for seen in out):
            out.append(group)
    return out


@detector(
    "freshness",
    reads=("trace.output", "trace.timestamp", "retrieved documents (ids, titles, dates)"),
    emits={
        "stale_source": Symptom("data_freshness", 1.0),
        "superseded_retrieved": Symptom("data_freshness", 0.6, feature=False),
    },
)
def detect_freshness(view: TraceView) -> Iterator[Finding]:
    """A cited document is much older than the trace, or a newer edition of it was retrieved;
    an older edition of a document outranks its newer one in the retrieval."""
    retrieval = view.retrieval
    known = retrieval.by_id()
    groups = editions(retrieval.documents)
    for group in groups:
        newest = max(group, key=lambda d: d.day or date.min)
        first = min(group, key=lambda d: d.rank)
        if first is not newest and first.step_id == newest.step_id:
            yield Finding(
                "superseded_retrieved",
                f"[{first.id}] ({first.day}) outranks its newer edition [{newest.id}] "
                f"({newest.day})",
                first.step_id,
            )
            break
    moment = view.trace.timestamp.date() if view.trace.timestamp else None
    for cited in citations(view.output, known):
        doc = resolve(cited, retrieval.documents, known)
        if doc is None or doc.day is None:
            continue
        if moment is not None and (moment - doc.day).days > STALE_DAYS:
            age = (moment - doc.day).days
            strength = min(1.0, 0.5 + 0.5 * (age - STALE_DAYS) / STALE_DAYS)
            yield Finding(
                "stale_source", f"cites [{doc.id}] dated {doc.day}", view.answer_id, strength
            )
            return
        newer = [
            other
            for group in groups
            if doc in group
            for other in group
            if other.day is not None and other.day > doc.day
        ]
        if newer:
            yield Finding(
                "stale_source",
                f"cites [{doc.id}] ({doc.day}) while [{newer[0].id}] ({newer[0].day}) "
                "supersedes it",
                view.answer_id,
            )
            return


@detector(
    "addressee",
    reads=("trace.output", "trace.input", "earlier turns", "retrieved documents", "tool outputs"),
    emits={
        # A name absent from the trace may still come from a system we cannot see (a CRM).
        "unknown_addressee": Symptom("prompt_instruction", 0.55),
        # ...but not when the request named someone else: a clustering feature already says
        # "unknown addressee", this one only adds its weight (and its harm) for triage.
        "wrong_recipient": Symptom("prompt_instruction", 0.9, feature=False),
    },
)
def detect_addressee(view: TraceView) -> Iterator[Finding]:
    """The answer greets someone ("Hi Morgan,") whom neither the request, the earlier turns,
    nor any retrieved document or tool output names."""
    greeting = _GREETING.search(view.output)
    if greeting is None:
        return
    name = greeting.group(1)
    token = as_words(name.lower())[:1]
    if not token or token[0] in _GROUPS:
        return
    known = " ".join(
        [
            view.request,
            *view.history,
            *(f"{d.id} {d.title} {d.text}" for d in view.retrieval.documents),
            *(
                as_text(s.output)
                for s in view.trace.steps
                if s.type in (StepType.tool, StepType.retriever)
            ),
        ]
    ).lower()
    if token[0] in set(as_words(known)):
        return
    yield Finding(
        "unknown_addressee", f"addresses '{name}', named nowhere in the input", view.answer_id
    )
    named = _RECIPIENT.findall(view.request)
    if named:
        yield Finding(
            "wrong_recipient",
            f"addresses '{name}' although the request names {named[0]}",
            view.answer_id,
        )


@detector(
    "format",
    reads=("trace.input", "step inputs (format, response_format, style, tone)", "trace.output"),
    emits={"format_ignored": Symptom("prompt_instruction", 0.85)},
)
def detect_format(view: TraceView) -> Iterator[Finding]:
    """A format asked for (bullets, JSON, a table, a formal tone), in the request or in a
    step's format setting, is not met by the answer."""
    output = view.output
    if not output.strip() or CLARIFY.search(output):
        return
    wanted: list[str] = []
    for step in view.trace.steps:
        if isinstance(step.input, dict):
            wanted.extend(
                str(step.input[k]).lower()
                for k in _FORMAT_KEYS
                if isinstance(step.input.get(k), str)
            )
    if _ASKED_BULLETS.search(view.request):
        wanted.append("bullets")
    if _ASKED_JSON.search(view.request):
        wanted.append("json")
    if _ASKED_FORMAL.search(view.request):
        wanted.append("formal")
    for fmt in dict.fromkeys(wanted):
        problem = _format_problem(fmt, output)
        if problem:
            yield Finding("format_ignored", f"asked for {fmt}: {problem}", view.answer_id)
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


@detector(
    "draft",
    reads=("trace.input", "trace.output", "step errors"),
    # Not a clustering feature (yet): on the demo world it fires on exactly one failure mode,
    # yet adding it moved HDBSCAN's choice of minimum cluster size (18 -> 36) and cost 0.04
    # ARI, a sign of the granularity rule's fragility (issue 16, item 2) more than of the
    # symptom's. Triage weighs it all the same.
    emits={"draft_missing": Symptom("prompt_instruction", 0.9, feature=False)},
)
def detect_draft(view: TraceView) -> Iterator[Finding]:
    """A draft (an e-mail, a reply, a letter) was asked for and the answer is not one."""
    output = view.output
    if not _DRAFT_REQUEST.search(view.request) or _DRAFT_SHAPE.search(output):
        return
    if CLARIFY.search(output) or REFUSAL.search(output) or view.trace.errors:
        return
    yield Finding("draft_missing", "a draft was requested, none returned", view.answer_id)


@detector(
    "refusal",
    reads=("trace.output", "step errors"),
    # The answer's own words (already in the signature text) and one face of a missing
    # capability, the claimed action below being the other: not split into two features.
    emits={"refusal": Symptom("missing_capability", 0.9, feature=False)},
)
def detect_refusal(view: TraceView) -> Iterator[Finding]:
    """The answer says the agent cannot do what was asked (and no step failed)."""
    if REFUSAL.search(view.output) and not view.trace.errors:
        yield Finding("refusal", f"refused: '{view.output[:80]}'", view.answer_id)


@detector(
    "action_claim",
    reads=("trace.output", "tool steps"),
    emits={"unbacked_action_claim": Symptom("missing_capability", 0.9, feature=False)},
)
def detect_action_claim(view: TraceView) -> Iterator[Finding]:
    """The answer claims an action ("I have cancelled it") that no successful tool call did."""
    if _ACTION_CLAIM.search(view.output) and not any(not s.error for s in view.tool_steps):
        yield Finding(
            "unbacked_action_claim", "claims an action that no tool performed", view.answer_id
        )


@detector(
    "clarification",
    reads=("trace.input", "trace.output", "router step"),
    emits={"needless_clarification": Symptom("routing_decision", 0.9, feature=False)},
)
def detect_clarification(view: TraceView) -> Iterator[Finding]:
    """The agent asked to clarify a request that names its subject."""
    output = view.output
    if CLARIFY.search(output) and output.rstrip().endswith("?") and ENTITY.search(view.request):
        step = view.router.id if view.router else view.answer_id
        yield Finding(
            "needless_clarification", "asked to clarify a request naming its subject", step
        )
