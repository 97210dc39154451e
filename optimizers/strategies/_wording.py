"""The cluster's own words for an instruction: what users asked for, and what went wrong.

An instruction template names slots (``{noun}``, ``{formats}``, ``{topic}``, ``{example_id}``,
``{param}``, ``{tool}``, ``{phrases}``...) and `fill_wording` fills them from the optimisation
traces: the artefact users asked for ("email", "reply"), the verb they used, the formats they
requested, the subject of the questions answered without a search, a document id as the
agent's corpus spells them, the tool parameter that received a relative date and the phrases
it received. An instruction that speaks about the failing requests in their own terms is
closer in meaning to the behaviour they need than a generic rule, and reads as written for
this agent. Each slot has a neutral fallback for when the evidence is silent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flywheel.trace import StepType, Trace
from optimizers._evidence import request_of, tokens
from optimizers._sanitise import TracedText, safe_name
from optimizers._task import OptimizationTask

_ARTIFACT = re.compile(r"(?i)\b(email|e-mail|reply|message|letter|note|memo)\b")
_VERB = re.compile(r"(?i)\b(draft|write|compose|prepare)\b")
_DOC_ID = re.compile(r"^[A-Za-z]{2,}[-_][\w.-]+$")
#: Format requests -> how an instruction names them.
_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bnumbered list\b"), "a numbered list"),
    (re.compile(r"(?i)\bbullet(?:s| points?| list)?\b"), "bullet points"),
    (re.compile(r"(?i)\btable\b"), "a table"),
    (re.compile(r"(?i)\binformal\b"), "an informal tone"),
    (re.compile(r"(?i)\bformal\b"), "a formal tone"),
    (re.compile(r"(?i)\bone paragraph\b"), "a single paragraph"),
    (re.compile(r"(?i)\bin \d+ words\b"), "a word limit"),
    (re.compile(r"(?i)\b(?:short|concise|brief)\b"), "a short answer"),
)
_RELATIVE = re.compile(
    r"(?i)\b(yesterday|today|last (?:week|month|year|quarter|monday|friday)|"
    r"this (?:week|month)|\d+ (?:days?|weeks?|months?) ago)\b"
)
#: Words of a request that say what kind of request it is, not what it is about.
_ASKING = frozenset(
    [
        "tell",
        "know",
        "need",
        "want",
        "please",
        "give",
        "show",
        "find",
        "check",
        "say",
        "said",
        "about",
        "anything",
        "everything",
        "thing",
        "things",
        "happened",
        "happening",
        "going",
        "latest",
        "quick",
        "question",
        "help",
        "thanks",
        "hey",
        "hi",
        "hello",
        "basically",
        "actually",
        "really",
        "just",
        "still",
    ]
)


def _most_common(values: Iterable[str], default: str) -> str:
    counts = Counter(values)
    return counts.most_common(1)[0][0] if counts else default


def _an(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _join(items: Sequence[str], default: str) -> str:
    items = list(items)
    if not items:
        return default
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _formats(requests: Sequence[str]) -> str:
    counts: Counter[str] = Counter()
    for request in requests:
        for pattern, phrase in _FORMATS:
            if pattern.search(request):
                counts[phrase] += 1
                break
    return _join([phrase for phrase, _ in counts.most_common(2)], "a particular format")


def _proper_names(request: str) -> set[str]:
    """Capitalised words inside a sentence (names of companies and people), lower-cased."""
    return {
        m.group(1).lower()
        for m in re.finditer(r"(?<=[\w,] )([A-Z][\w'-]+)", request)
        if m.group(1) != "I"
    }


def _topic(requests: Sequence[str]) -> str:
    """What the requests are about: a named company or person when most name one, else the
    two subjects they share (words found in at least two requests)."""
    named = [_proper_names(r) for r in requests]
    if requests and sum(1 for n in named if n) * 2 >= len(requests):
        return "a company or person named in the request"
    names = set().union(*named) if named else set()
    frequency: Counter[str] = Counter()
    for request in requests:
        frequency.update(
            {w for w in tokens(request) if w not in _ASKING and w not in names and len(w) > 3}
        )
    ranked = sorted(frequency.items(), key=lambda item: (-item[1], item[0]))  # hash-free ties
    shared = [word for word, n in ranked[:2] if n >= 2]
    return _join(shared, "the customers and accounts the user asks about")


def _documents(traces: Sequence[Trace]) -> list[str]:
    found: list[str] = []
    for trace in traces:
        for step in trace.steps:
            output = step.output
            if step.type in (StepType.retriever, StepType.tool) and isinstance(output, dict):
                for doc in output.get("documents") or []:
                    doc_id = str(doc.get("id") if isinstance(doc, dict) else doc)
                    if _DOC_ID.fullmatch(doc_id) and ".." not in doc_id:
                        found.append(doc_id)
    return found


_QUOTED = re.compile(r"'([^']{1,40})'")


def _names_argument(error: str | None, key: str) -> bool:
    """Whether a tool's error message names the argument ``key`` (``field x``, ``$.x``...)."""
    return error is not None and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", error) is not None


def date_arguments(traces: Sequence[Trace]) -> tuple[str, str, str, list[str]]:
    """(parameter, tool, quoted phrases, the traces they came from) of tool arguments that
    received a relative date. Names that are not plain identifiers (``../../etc``) are
    replaced by neutral words: they would be copied into instructions and tool files."""
    params: Counter[tuple[str, str]] = Counter()
    phrases: Counter[str] = Counter()
    sources: dict[tuple[str, str], list[str]] = {}
    for trace in traces:
        for step in trace.steps:
            if step.type is not StepType.tool or not isinstance(step.input, dict):
                continue
            # The argument the tool's rejection names is the one at fault, not a free-text
            # argument (a description quoting the user) that merely contains a date phrase.
            named = [key for key in step.input if _names_argument(step.error, str(key))]
            for key, value in step.input.items():
                match = _RELATIVE.search(value) if isinstance(value, str) else None
                if (key not in named) if named else match is None:
                    continue
                pair = (safe_name(str(key), "date"), safe_name(step.name or "", "the tool"))
                params[pair] += 1
                sources.setdefault(pair, []).append(trace.trace_id)
                phrase = _QUOTED.search(step.error or "") if match is None else match
                if phrase is not None:
                    phrases[phrase.group(phrase.lastindex or 0).lower()] += 1
    (param, tool), _ = params.most_common(1)[0] if params else (("date", "a tool"), 0)
    quoted = _join([f"'{p}'" for p, _ in phrases.most_common(2)], "'last week' or 'yesterday'")
    return param, tool, quoted, sources.get((param, tool), [])[:3]


@dataclass(frozen=True)
class WordingEvidence:
    """The slot values of one cluster's instructions."""

    noun: str
    verb: str
    formats: str
    topic: str
    example_id: str
    param: str
    tool: str
    phrases: str
    #: Traces the tool and parameter names (and the document id) were read from.
    sources: tuple[str, ...] = ()

    @classmethod
    def of(cls, task: OptimizationTask) -> WordingEvidence:
        requests = [request_of(trace) for trace in task.failing]
        noun = _most_common(
            (m.lower().replace("e-mail", "email") for r in requests for m in _ARTIFACT.findall(r)),
            "email",
        )
        documents = _documents(task.failing)
        param, tool, phrases, named_by = date_arguments(task.failing)
        documented_by = _document_sources(task.failing, documents[:1])
        return cls(
            noun=noun,
            verb=_most_common((m.lower() for r in requests for m in _VERB.findall(r)), "write"),
            formats=_formats(requests),
            topic=_topic(requests),
            example_id=f"[{documents[0]}]" if documents else "[doc-id]",
            param=param,
            tool=tool,
            phrases=phrases,
            sources=tuple(dict.fromkeys([*named_by, *documented_by])),
        )


def _document_sources(traces: Sequence[Trace], documents: list[str]) -> list[str]:
    wanted = set(documents)
    return [t.trace_id for t in traces if wanted & set(_documents([t]))][:3]


#: Slots filled with names read from traces (as opposed to fixed vocabulary and counts).
_TRACE_SLOTS = ("{param}", "{tool}", "{example_id}")


def fill_wording(wording: str, task: OptimizationTask) -> str:
    """The template ``wording`` in the cluster's own words (see the module docstring).

    A `TracedText` naming its traces when a slot took a name from a trace.
    """
    evidence = WordingEvidence.of(task)
    text = wording.format(
        noun=evidence.noun,
        artifact=_an(evidence.noun),
        verb=evidence.verb,
        formats=evidence.formats,
        topic=evidence.topic,
        example_id=evidence.example_id,
        param=evidence.param,
        tool=evidence.tool,
        phrases=evidence.phrases,
    )
    if evidence.sources and any(slot in wording for slot in _TRACE_SLOTS):
        return TracedText(text, evidence.sources)
    return text
