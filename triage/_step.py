"""The failing step: where a failing trace first went wrong, and which agent took that step.

`failing_step` is a rule over trace facts, the same for every agent and trace convention:

1. **Hard evidence, earliest first.** A step that carries failure evidence: a step error or
   timeout (the stored failure signals, or the step's own ``error``), a rejected or failed
   tool call, a guardrail, content filter or bot check that stopped it, an exception in its
   text (the detectors of `flywheel.detectors` for everything read from text). The earliest such
   step wins: what goes wrong first is what the rest of the run inherits. An error the run
   recovered from (a later call of the same tool succeeded) counts only when nothing else
   does.
2. **Otherwise the first consequential action**: a tool call that changes the world (its name
   starts with a verb such as cancel, modify, return, transfer, book, send...). In a failed run
   with no visible error, the first irreversible action is where a wrong decision becomes a
   wrong result.
3. **Otherwise the last step**: the run ended without the result, and nothing earlier points
   anywhere.

Each answer carries its evidence, the rule that chose it and a confidence; bad input (no
steps, steps without a type, agents without a name) gives a low-confidence answer with the
reason, never an exception. `StepRule` holds the rule's parameters (which evidence counts as
hard, whether the consequential-action fallback is used) so that the benchmark can choose them
on one domain and measure on another.

`step_pattern` summarises the answers of a cluster's traces: the step/agent pattern they share
("first went wrong at the `search` tool step, agent WebSurfer, in 14 of 17 traces").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from flywheel.detectors import Detection, detect
from flywheel.trace import FailureSignal, SignalKind, Step, StepType, Trace

#: Hard evidence kinds: a failure signal kind or a symptom name -> the kind reported.
HARD_EVIDENCE: dict[str, str] = {
    SignalKind.step_error.value: "error",
    SignalKind.timeout.value: "error",
    "tool_timeout": "error",
    "step_timeout": "error",
    "tool_argument_error": "error",
    "tool_rejected_call": "error",
    "infrastructure_error": "error",
    "step_error_other": "error",
    "blocked_by_guardrail": "guardrail",
    "exception_in_step": "exception",
    "limit_reached": "limit",
}
#: Default hard kinds. ``limit`` is left out: a run that hits its limit shows where it gave up,
#: not where it went wrong (chosen by leave-one-domain-out on AgentRx, see `flywheel bench
#: triage --agentrx`).
DEFAULT_HARD = frozenset({"error", "guardrail", "exception"})
#: A tool whose name starts with one of these verbs changes the world.
_CONSEQUENTIAL = re.compile(
    r"(?i)^(?:cancel|modify|update|return|exchange|transfer|create|delete|remove|book|send|pay|"
    r"refund|change|set|add|write|submit|place|issue|charge|approve|reject|escalate|handoff|"
    r"hand_off)(?:[_\-. ]|[A-Z]|$)"
)
#: Keys under which producers name the agent that took a step (OpenInference, OTel GenAI,
#: chat transcripts).
_AGENT_KEYS = ("agent", "agent_name", "agent.name", "gen_ai.agent.name", "graph.node.id")

T = TypeVar("T")

#: A cluster's pattern is read from at most this many of its traces, evenly spaced (about
#: 1 ms a short trace, 20 ms a 100-step multi-agent run).
PATTERN_SAMPLE = 500

CONFIDENCE = {"hard": 0.6, "recovered": 0.4, "consequential": 0.3, "last_step": 0.15}


@dataclass(frozen=True)
class StepRule:
    """The rule's parameters: which evidence kinds are hard, and the fallbacks used."""

    hard: frozenset[str] = DEFAULT_HARD
    consequential: bool = True

    def describe(self) -> str:
        kinds = ", ".join(sorted(self.hard)) or "none"
        return f"hard={kinds}; consequential={'on' if self.consequential else 'off'}"


@dataclass(frozen=True)
class FailingStep:
    """Where one trace first went wrong. ``step_id`` is None when no step can be named."""

    trace_id: str
    step_id: str | None
    step_name: str
    step_type: str
    agent: str | None
    kind: str
    evidence: str
    confidence: float
    reason: str = ""

    @property
    def label(self) -> str:
        """The step as a pattern across traces: ```search` tool step``."""
        if self.step_id is None:
            return "no step"
        return f"`{self.step_name}` {self.step_type} step" if self.step_name else self.step_type

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Evidence:
    index: int
    kind: str
    text: str
    recovered: bool = False


@dataclass
class _Steps:
    steps: list[Step]
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, step in enumerate(self.steps):
            self.index.setdefault(step.id, i)


def failing_step(
    trace: Trace,
    signals: Sequence[FailureSignal] = (),
    *,
    symptoms: Sequence[Detection] | None = None,
    rule: StepRule | None = None,
) -> FailingStep:
    """The step where ``trace`` first went wrong, its agent, the evidence and a confidence."""
    rule = rule or StepRule()
    if not trace.steps:
        return FailingStep(
            trace.trace_id, None, "", "", None, "none", "", 0.0, "the trace has no steps"
        )
    steps = _Steps(list(trace.steps))
    found = sorted(
        _evidence(trace, steps, signals, symptoms, rule), key=lambda e: (e.recovered, e.index)
    )
    if found:
        first = found[0]
        step = steps.steps[first.index]
        level = "recovered" if first.recovered else "hard"
        reason = (
            "an error the run recovered from (nothing else points anywhere)"
            if first.recovered
            else f"earliest step with failure evidence ({first.kind})"
        )
        return _answer(trace, steps, step, first.kind, first.text, CONFIDENCE[level], reason)
    if rule.consequential:
        for step in steps.steps:
            if step.type is StepType.tool and _CONSEQUENTIAL.search(step.name or ""):
                return _answer(
                    trace,
                    steps,
                    step,
                    "consequential",
                    f"{step.name} changed the world in a failed run",
                    CONFIDENCE["consequential"],
                    "no failure evidence; first consequential action",
                )
    step = steps.steps[-1]
    return _answer(
        trace,
        steps,
        step,
        "last_step",
        "the run ended without the result",
        CONFIDENCE["last_step"],
        "no failure evidence and no consequential action; the last step",
    )


def _evidence(
    trace: Trace,
    steps: _Steps,
    signals: Sequence[FailureSignal],
    symptoms: Sequence[Detection] | None,
    rule: StepRule,
) -> Iterable[_Evidence]:
    for signal in signals:
        kind = HARD_EVIDENCE.get(signal.kind.value)
        if kind in rule.hard and signal.step_id in steps.index:
            index = steps.index[signal.step_id]
            yield _Evidence(index, kind, signal.evidence, _recovered(steps, index))
    if "error" in rule.hard:
        for index, step in enumerate(steps.steps):
            if step.error:
                text = f"{step.name or step.type.value} failed: {step.error[:160]}"
                yield _Evidence(index, "error", text, _recovered(steps, index))
    for symptom in _step_symptoms(trace, steps, symptoms):
        kind = HARD_EVIDENCE.get(symptom.symptom)
        if kind in rule.hard and symptom.step_id in steps.index:
            index = steps.index[symptom.step_id]
            recovered = kind == "error" and _recovered(steps, index)
            yield _Evidence(index, kind, symptom.evidence, recovered)


def _step_symptoms(
    trace: Trace, steps: _Steps, given: Sequence[Detection] | None
) -> Iterable[Detection]:
    """The symptoms of every step, each step read on its own.

    Some detectors name a symptom once per trace, at its first occurrence, and read the
    trace's answer first: a guardrail message that ends a run as its answer would hide the bot
    check ten steps earlier. Reading each step alone finds every step that carries a symptom,
    through the same detectors.
    """
    yield from given if given is not None else detect(trace).detections
    for step in steps.steps:
        alone = Trace(trace_id=trace.trace_id, input="", steps=[step])
        yield from detect(alone).detections


def _recovered(steps: _Steps, index: int) -> bool:
    """A later step of the same tool ran without an error: the run got past this one."""
    failed = steps.steps[index]
    if failed.type is not StepType.tool:
        return False
    return any(
        later.type is StepType.tool and later.name == failed.name and not later.error
        for later in steps.steps[index + 1 :]
    )


def _answer(
    trace: Trace,
    steps: _Steps,
    step: Step,
    kind: str,
    evidence: str,
    confidence: float,
    reason: str,
) -> FailingStep:
    agent = agent_of(step, steps.steps)
    notes = [reason]
    if step.type is StepType.other and not step.name:
        confidence = min(confidence, 0.3)
        notes.append("the step has no type or name")
    if agent is None:
        notes.append("no agent is named for this step")
    return FailingStep(
        trace_id=trace.trace_id,
        step_id=step.id,
        step_name=step.name,
        step_type=step.type.value,
        agent=agent,
        kind=kind,
        evidence=evidence,
        confidence=round(confidence, 2),
        reason="; ".join(notes),
    )


def agent_of(step: Step, steps: Sequence[Step]) -> str | None:
    """The agent that took ``step``: named in its metadata, an agent step's name, the agent of
    its parent step (a tool call belongs to whoever called it), else the chat role."""
    by_id = {s.id: s for s in steps}
    current: Step | None = step
    for _ in range(32):  # a parent chain this long is a cycle
        if current is None:
            break
        for key in _AGENT_KEYS:
            value = current.metadata.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        if current.type is StepType.agent and current.name:
            return current.name
        role = current.metadata.get("role")
        if isinstance(role, str) and role.strip():
            return role.strip()
        current = by_id.get(current.parent_id) if current.parent_id else None
    return None


def sample_evenly(items: Sequence[T], limit: int = PATTERN_SAMPLE) -> list[T]:
    """At most ``limit`` of ``items``, evenly spaced (all of them when there are few)."""
    if len(items) <= limit:
        return list(items)
    stride = len(items) / limit
    return [items[int(i * stride)] for i in range(limit)]


def step_pattern(
    found: Sequence[FailingStep], *, total: int | None = None, keep: int = 50
) -> dict[str, Any]:
    """What a cluster's traces share: the commonest step/agent where they first went wrong.

    ``total`` is the cluster's size when ``found`` covers a sample of it."""
    sampled = total is not None and total > len(found)
    located = [f for f in found if f.step_id is not None]
    pairs = Counter((f.label, f.agent) for f in located)
    patterns = [
        {"step": label, "agent": agent, "traces": count}
        for (label, agent), count in pairs.most_common(3)
    ]
    summary = "no failing step could be named"
    if patterns:
        top = patterns[0]
        who = f", agent {top['agent']}" if top["agent"] else ""
        summary = f"first went wrong at the {top['step']}{who}, in {top['traces']} of {len(found)}"
        summary += " sampled traces" if sampled else " traces"
    return {
        "summary": summary,
        "traces": len(found),
        "cluster_traces": total if total is not None else len(found),
        "located": len(located),
        "patterns": patterns,
        "kinds": dict(Counter(f.kind for f in found).most_common()),
        "agents": dict(Counter(f.agent or "unnamed" for f in located).most_common()),
        "mean_confidence": round(sum(f.confidence for f in found) / len(found), 3)
        if found
        else 0.0,
        "per_trace": [f.to_dict() for f in found[:keep]],
    }
