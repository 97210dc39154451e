"""Scorers: deterministic checks over a replayed trace, and how their checks make a verdict.

A scorer answers one question about one trace and returns a `Check`: ``passed`` True/False,
or None when the question does not apply to the case (no expectation of that kind). A
scorer that *raises* has not judged the case: the harness records a scorer error for it,
never a pass or a fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from flywheel import plugins
from flywheel.config import HarnessOptions, SignalsConfig
from flywheel.errors import UserError
from flywheel.signals import combine, derive_signals
from flywheel.trace import StepType, Trace
from replay._models import Case, Check, Status

#: ``[DOC-ID]`` style citations; the id must start with a letter or digit.
CITATION = re.compile(r"\[([A-Za-z0-9][\w.:/-]*)\]")
_SOURCE_STEPS = (StepType.retriever, StepType.tool, StepType.reranker)
_ID_KEYS = ("id", "doc_id", "document_id")
_LIST_KEYS = ("documents", "results", "ids", "docs")


@runtime_checkable
class Scorer(Protocol):
    """Judges one replayed trace of one case.

    Contract: return a `Check` named ``name``; ``passed`` True is good, False is a failure of
    the agent, None "not applicable". Raise (anything) when the scorer itself cannot judge —
    an LLM judge whose provider fails, for instance; the harness records an error for the case.
    """

    name: str

    async def score(self, case: Case, trace: Trace) -> Check: ...


class NoError:
    """No step of the trace recorded an error (tool timeouts, bad arguments, exceptions)."""

    name = "no_error"

    async def score(self, case: Case, trace: Trace) -> Check:
        errors = trace.errors
        detail = "; ".join(f"{step.name or step.id}: {step.error}" for step in errors[:3])
        return Check(name=self.name, passed=not errors, value=float(len(errors)), detail=detail)


class FailureSignal:
    """The failure signals Flywheel detects in production do not recur on the replayed trace.

    The replay has no user feedback and no session, so this is the trace-level evidence:
    scores below their thresholds (a judge's), step errors, timeouts, task failures, combined
    by `flywheel.signals.combine` exactly as detection does.
    """

    name = "failure_signal"

    def __init__(self, config: SignalsConfig | None = None) -> None:
        self.config = config or SignalsConfig()

    async def score(self, case: Case, trace: Trace) -> Check:
        signals = [s for s in derive_signals(trace, config=self.config) if not s.positive]
        score, failing = combine(signals, self.config)
        kinds = sorted({s.kind.value for s in signals})
        recurred = sorted(set(kinds) & set(case.signals))
        detail = f"signals: {', '.join(kinds) or 'none'}"
        if recurred:
            detail += f"; recurred from the original: {', '.join(recurred)}"
        return Check(name=self.name, passed=not failing, value=round(score, 4), detail=detail)


class ExpectedRoute:
    name = "route"

    async def score(self, case: Case, trace: Trace) -> Check:
        want = case.expected.route
        if want is None:
            return Check(name=self.name, passed=None)
        got = trace.route
        return Check(name=self.name, passed=got == want, detail=f"expected {want}, got {got}")


class ExpectedTool:
    name = "tool"

    async def score(self, case: Case, trace: Trace) -> Check:
        want = set(case.expected.tools)
        if not want:
            return Check(name=self.name, passed=None)
        used = {step.name for step in trace.steps if step.type is StepType.tool}
        detail = f"expected one of {sorted(want)}, used {sorted(used) or 'none'}"
        return Check(name=self.name, passed=bool(want & used), detail=detail)


class Citation:
    """Every ``[ID]`` citation in the answer names a document the trace retrieved; when the
    case requires citations, at least one is present."""

    name = "citation"

    async def score(self, case: Case, trace: Trace) -> Check:
        cited = CITATION.findall(trace.output_text)
        if not cited:
            if case.expected.must_cite:
                return Check(name=self.name, passed=False, detail="no citation in the answer")
            return Check(name=self.name, passed=None)
        retrieved = retrieved_ids(trace)
        unknown = sorted(set(cited) - retrieved)
        detail = f"cites {sorted(set(cited))}; not retrieved: {unknown}" if unknown else ""
        return Check(name=self.name, passed=not unknown, detail=detail)


class Format:
    """The answer meets the case's format constraint: bullets, JSON, or a regular expression."""

    name = "format"

    async def score(self, case: Case, trace: Trace) -> Check:
        rule = case.expected.format
        if rule is None:
            return Check(name=self.name, passed=None)
        text = trace.output_text
        if rule == "bullets":
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            ok = len(lines) >= 2 and all(line[:1] in "-*•" for line in lines)
        elif rule == "json":
            try:
                json.loads(text)
                ok = True
            except ValueError:
                ok = False
        elif rule.startswith("regex:"):
            ok = re.search(rule[6:], text, re.DOTALL) is not None
        else:
            raise ValueError(f"unknown format rule {rule!r}; valid: bullets, json, regex:<pattern>")
        return Check(name=self.name, passed=ok, detail=f"format {rule}")


class Reference:
    """The answer contains the case's reference answer (case and spacing ignored)."""

    name = "reference"

    async def score(self, case: Case, trace: Trace) -> Check:
        reference = case.expected.reference
        if reference is None:
            return Check(name=self.name, passed=None)
        ok = _normal(reference) in _normal(trace.output_text)
        return Check(name=self.name, passed=ok)


#: The built-in deterministic checks, in the order they are reported.
BUILTIN_SCORERS: tuple[type[Scorer], ...] = (
    NoError,
    FailureSignal,
    ExpectedRoute,
    ExpectedTool,
    Citation,
    Format,
    Reference,
)


def scorers() -> dict[str, Scorer]:
    """Every scorer the plugins register (hook ``register_scorers``), by name."""
    return plugins.named_objects(
        "register_scorers", "scorer", Scorer, "name and async score(case, trace) -> Check"
    )


def scorers_named(names: Sequence[str]) -> list[Scorer]:
    """The scorers named (``[replay.harness] scorers``), in that order; an unknown name gets
    the list of valid ones."""
    found = scorers()
    unknown = [name for name in names if name not in found]
    if unknown:
        raise UserError(
            f"unknown scorer(s) {', '.join(unknown)} in [replay.harness] scorers; "
            f"valid: {', '.join(found)}"
        )
    return [found[name] for name in dict.fromkeys(names)]


def default_scorers() -> list[Scorer]:
    """The scorers ``[replay.harness] scorers`` names by default."""
    return scorers_named(HarnessOptions().scorers)


def scorer_key(scorers: Sequence[Scorer]) -> str:
    """Which scorers made a verdict: a cached trace is re-scored when this changes."""
    return ",".join(scorer.name for scorer in scorers)


def verdict(checks: Iterable[Check]) -> Status:
    """A case passes when every applicable check passes."""
    return Status.failed if any(check.passed is False for check in checks) else Status.passed


def retrieved_ids(trace: Trace) -> set[str]:
    """Ids of the documents that retrieval, reranking and tool steps returned."""
    found: set[str] = set()
    for step in trace.steps:
        if step.type in _SOURCE_STEPS and step.output is not None:
            _collect_ids(step.output, found, in_list=False)
    return found


def _collect_ids(value: Any, found: set[str], *, in_list: bool) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in _ID_KEYS and isinstance(inner, str | int):
                found.add(str(inner))
            elif isinstance(inner, dict | list):
                _collect_ids(inner, found, in_list=key in _LIST_KEYS)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str) and in_list:
                found.add(item)
            else:
                _collect_ids(item, found, in_list=in_list)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())
