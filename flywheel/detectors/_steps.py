"""Built-in detectors that read the steps: errors, guardrails, exceptions, limits, loops,
hand-offs, empty retrievals, tool calls against their schemas and router fallbacks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from flywheel.detectors._conventions import tool_arguments
from flywheel.detectors._documents import output_items, step_items
from flywheel.detectors._registry import Finding, Symptom, detector
from flywheel.detectors._text import canonical
from flywheel.detectors._view import TraceView
from flywheel.trace import Step, StepType

#: Characters scanned at each end of a step text for guardrail / exception / limit markers
#: (errors land at the end of long texts: the last line of a stack trace).
SCAN_CHARS = 4000
#: The same call with the same arguments this many times is a repeated action.
REPEATS = 3
#: A router confidence under this is a guess.
LOW_ROUTER_CONFIDENCE = 0.35

TIMEOUT = re.compile(r"(?i)time[d]?[ _-]?out|deadline exceeded|\b(?:408|504)\b|gateway time-?out")
GUARDRAIL = re.compile(
    r"(?i)content[ _-]?(?:filter|management polic)|policy[ _-]?violation|jailbreak|"
    r"not a robot|captcha|verify (?:that )?you are (?:a )?human|access denied|403 forbidden|"
    r"request blocked|blocked by (?:a )?(?:cloudflare|safety|guardrail|moderation)|"
    r"safety system|responsible ?ai|flagged by (?:the )?moderation"
)
ARGUMENTS = re.compile(
    r"(?i)invalid|validation|missing (?:required )?(?:argument|parameter|field)|required "
    r"(?:argument|parameter|field)|unexpected (?:keyword )?argument|bad request|\b(?:400|422)\b|"
    r"schema|malformed|must be|expected (?:a|an|one of|type)|wrong type|"
    r"unknown (?:field|parameter|argument)|"
    r"\b(?:ValueError|TypeError|ValidationError)\b|\bis not (?:a |an )?(?:valid )?\w+"
)
INFRA = re.compile(
    r"(?i)\b(?:5\d\d|429)\b|connection|unavailable|rate.?limit|overloaded|out of memory|"
    r"refused|reset by peer|internal server error|bad gateway|too many requests|"
    r"service unavailable|network|dns"
)
_EXCEPTION = re.compile(r"Traceback \(most recent call last\)|\b\w+(?:Error|Exception): ")
_LIMIT = re.compile(
    r"(?i)max(?:imum)? (?:time|turns|steps|rounds|iterations)\b[^.\n]{0,20}(?:reached|exceeded)|"
    r"(?:turn|step|time|iteration|recursion) limit (?:reached|exceeded)|stalled|"
    r"ran out of (?:time|steps|turns)|agent stopped due to (?:iteration|time) limit"
)
_HANDOFF = re.compile(r"(?i)transfer|handoff|hand_off|escalat")
_ROUTE_REASON = ("via", "reason", "strategy", "method")
_ROUTE_CONFIDENCE = ("similarity", "confidence", "score", "probability")


def _head(text: str) -> str:
    return text if len(text) <= 2 * SCAN_CHARS else f"{text[:SCAN_CHARS]}\n{text[-SCAN_CHARS:]}"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:160] if lines else ""


@detector(
    "step_errors",
    reads=("step errors", "step types"),
    emits={
        # A tool (or retrieval) call timing out is its service's; a model or chain step
        # timing out is the provider's or the runtime's: both infrastructure, two owners.
        "tool_timeout": Symptom("latency_infra", 1.0),
        "step_timeout": Symptom("latency_infra", 1.0),
        "tool_argument_error": Symptom("tool_arguments", 1.0),
        # The tool refused the call (not found, not allowed in this state): a wrong call.
        "tool_rejected_call": Symptom("tool_arguments", 0.5),
        "infrastructure_error": Symptom("latency_infra", 0.7),
        "step_error_other": Symptom("latency_infra", 0.7),
    },
)
def detect_step_errors(view: TraceView) -> Iterator[Finding]:
    """How each failed step failed: a timeout (of a tool call or of another step), arguments a
    tool rejected, an outage or rate
    limit, another refusal by a tool, or another error. Guardrail blocks are the guardrail
    detector's."""
    for step in view.trace.steps:
        if not step.error:
            continue
        error = _head(step.error)
        name = step.name or step.type.value
        why = f"{name}: {_first_line(step.error)}"
        called = step.type in (StepType.tool, StepType.retriever)
        if GUARDRAIL.search(error):
            continue
        if TIMEOUT.search(error):
            yield Finding("tool_timeout" if called else "step_timeout", why, step.id)
        elif called and ARGUMENTS.search(error) and not INFRA.search(_first_line(error)):
            yield Finding("tool_argument_error", why, step.id)
        elif INFRA.search(error):
            yield Finding("infrastructure_error", why, step.id)
        elif called:
            yield Finding("tool_rejected_call", why, step.id)
        else:
            yield Finding("step_error_other", why, step.id)


def _texts(view: TraceView, *, errors: bool = True) -> Iterator[tuple[str | None, str]]:
    yield view.answer_id, view.output
    for step in view.trace.steps:
        if step.error and errors:
            yield step.id, step.error
        if isinstance(step.output, str) and step.output:
            yield step.id, step.output
        elif isinstance(step.output, dict | list):
            yield step.id, canonical(step.output)


@detector(
    "guardrail",
    reads=("step errors", "step outputs", "trace.output"),
    emits={"blocked_by_guardrail": Symptom("missing_capability", 0.8)},
)
def detect_guardrail(view: TraceView) -> Iterator[Finding]:
    """A content filter, policy check, jailbreak detector or bot check (a CAPTCHA, a "verify
    you are human" page) stopped a step."""
    for step_id, text in _texts(view):
        found = GUARDRAIL.search(_head(text))
        if found:
            quoted = text[max(0, found.start() - 40) : found.end() + 40].replace("\n", " ")
            yield Finding("blocked_by_guardrail", f"'{quoted}'", step_id)
            return


@detector(
    "exception",
    reads=("step outputs", "trace.output"),
    emits={"exception_in_step": Symptom()},
)
def detect_exception(view: TraceView) -> Iterator[Finding]:
    """A step's text (not its error field) holds a stack trace or an exception message."""
    for step_id, text in _texts(view, errors=False):
        if _EXCEPTION.search(_head(text)):
            yield Finding("exception_in_step", "a step's text holds an exception", step_id)
            return


@detector(
    "limit",
    reads=("step errors", "step outputs", "trace.output"),
    emits={"limit_reached": Symptom()},
)
def detect_limit(view: TraceView) -> Iterator[Finding]:
    """The run hit a time, turn, step or recursion limit."""
    for step_id, text in _texts(view):
        if _LIMIT.search(_head(text)):
            yield Finding("limit_reached", "the run hit a time, turn or step limit", step_id)
            return


@detector(
    "repeats",
    reads=("tool and retriever steps (names, inputs)",),
    emits={"repeated_action": Symptom()},
)
def detect_repeats(view: TraceView) -> Iterator[Finding]:
    """The same call with the same arguments was made `REPEATS` times or more."""
    calls: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], str] = {}
    for step in view.trace.steps:
        if step.type in (StepType.tool, StepType.retriever):
            key = (step.name or step.type.value, canonical(step.input))
            calls[key] += 1
            first.setdefault(key, step.id)
    repeated = [key for key, n in calls.items() if n >= REPEATS]
    if repeated:
        name = repeated[0][0]
        yield Finding(
            "repeated_action",
            f"{name} called {calls[repeated[0]]} times with the same arguments",
            first[repeated[0]],
        )


@detector(
    "handoff",
    reads=("tool and retriever step names",),
    emits={"handed_off": Symptom()},
)
def detect_handoff(view: TraceView) -> Iterator[Finding]:
    """The agent transferred the user to a human (or escalated)."""
    for step in view.trace.steps:
        if step.type in (StepType.tool, StepType.retriever) and _HANDOFF.search(step.name or ""):
            yield Finding("handed_off", f"called {step.name}", step.id)
            return


@detector(
    "empty_retrieval",
    reads=("retriever outputs",),
    emits={"empty_retrieval": Symptom()},
)
def detect_empty_retrieval(view: TraceView) -> Iterator[Finding]:
    """A retrieval step ran without an error and returned nothing."""
    for step in view.trace.steps:
        if step.type is not StepType.retriever or step.error:
            continue
        shaped = isinstance(step.output, dict | list)
        if shaped and not output_items(step.output) and not step_items(step):
            yield Finding(
                "empty_retrieval", f"{step.name or 'retrieval'} returned nothing", step.id
            )
            return


@detector(
    "tool_schema",
    reads=("tool schemas (tools, functions, llm.tools, tool.parameters)", "tool step inputs"),
    emits={"tool_arguments_off_schema": Symptom("tool_arguments", 0.9)},
)
def detect_tool_schema(view: TraceView) -> Iterator[Finding]:
    """A tool was called with arguments its declared schema does not allow: a required one
    missing, an unknown one, a value of the wrong type or outside its enum."""
    schemas = view.tool_schemas
    if not schemas:
        return
    for step in view.tool_steps:
        schema = schemas.get(step.name)
        args = tool_arguments(step) if schema else None
        if schema is None or args is None:
            continue
        problem = schema_problem(schema, args)
        if problem:
            yield Finding("tool_arguments_off_schema", f"{step.name}: {problem}", step.id)
            return


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def schema_problem(schema: dict[str, Any], args: dict[str, Any]) -> str:
    """What is wrong with ``args`` under the JSON schema ``schema`` (top level only), or ''."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if name not in args:
            return f"missing required argument '{name}'"
    if schema.get("additionalProperties") is False:
        unknown = [name for name in args if name not in properties]
        if unknown:
            return f"unknown argument '{unknown[0]}'"
    for name, value in args.items():
        spec = properties.get(name)
        if not isinstance(spec, dict) or value is None:
            continue
        enum = spec.get("enum")
        if isinstance(enum, list) and enum and value not in enum:
            return f"'{name}' = {value!r} is not one of {enum[:6]}"
        kind = spec.get("type")
        if not isinstance(kind, str):
            continue
        allowed = _TYPES.get(kind)
        if allowed and (not isinstance(value, allowed) or _bool_as_number(value, kind)):
            return f"'{name}' should be {kind}, got {type(value).__name__}"
    return ""


def _bool_as_number(value: Any, kind: str) -> bool:
    return isinstance(value, bool) and kind in ("integer", "number")


@detector(
    "router_fallback",
    reads=("router step output (via, reason, confidence)",),
    emits={"router_fallback": Symptom("routing_decision", 0.3, feature=False)},
)
def detect_router_fallback(view: TraceView) -> Iterator[Finding]:
    """The router fell back to a default route, or chose with low confidence."""
    router: Step | None = view.router
    if router is None or not isinstance(router.output, dict):
        return
    output = router.output
    via = next((str(output[k]) for k in _ROUTE_REASON if output.get(k)), "")
    confidence = next(
        (output[k] for k in _ROUTE_CONFIDENCE if isinstance(output.get(k), int | float)), None
    )
    low = confidence is not None and confidence < LOW_ROUTER_CONFIDENCE
    if "fallback" in via.lower() or "default" in via.lower() or low:
        yield Finding(
            "router_fallback", f"route '{view.trace.route}' chosen by {via or 'router'}", router.id
        )
