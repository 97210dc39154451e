"""Before weeks of a loop are spent on a world: do its generator, truth and agent agree?

The loop's figures mean something only if ``truth`` says of each generated request what its
label says, and replay only judges fixes if the agent reproduces the generated traces. A
small traffic sample under the default configuration checks both, in about a second.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flywheel.trace import Trace
from flywheel.worlds._contract import ReplayableWorld, python_agent, replay_inputs

#: Traces generated for the check.
PREFLIGHT_TRACES = 200
#: Share of the sample on which truth or the agent may disagree with generate() before the
#: world is refused: a world that gets it wrong this often measures nothing; a rare edge case
#: is reported, not fatal.
MAX_DISAGREEMENT = 0.05


class Agreement(BaseModel):
    """How often one of the world's functions says what generate() wrote, on the sample."""

    model_config = ConfigDict(extra="forbid")

    who: str
    compared: int
    disagree: int
    #: The first disagreement, e.g. ``trace T: label 'm', truth() None``.
    example: str | None = None

    @property
    def share(self) -> float:
        return self.disagree / self.compared if self.compared else 0.0

    def describe(self) -> str:
        return (
            f"{self.who} disagrees with generate() on {self.disagree} of {self.compared} "
            f"traces under DEFAULT_CONFIG_DIR (e.g. {self.example})"
        )


class ReplayCheck(BaseModel):
    """`check_replay`'s findings: ``problems`` are fatal; ``agreements`` are measured."""

    model_config = ConfigDict(extra="forbid")

    traces: int = 0
    problems: list[str] = Field(default_factory=list)
    agreements: list[Agreement] = Field(default_factory=list)

    def refusals(self, max_disagreement: float = MAX_DISAGREEMENT) -> list[str]:
        """Why the world cannot be measured: its problems and any agreement too low."""
        low = [a.describe() for a in self.agreements if a.share > max_disagreement]
        return [*self.problems, *low]

    def warnings(self, max_disagreement: float = MAX_DISAGREEMENT) -> list[str]:
        return [a.describe() for a in self.agreements if 0 < a.share <= max_disagreement]


def check_replay(
    world: ReplayableWorld, directory: Path, *, n: int = PREFLIGHT_TRACES, seed: int = 0
) -> ReplayCheck:
    """Whether ``world``'s parts agree, on ``n`` traces written under ``directory``: generate's
    output and labels are valid, truth gives each trace its label, a Python agent gives each
    trace's output again. A world function that raises is a problem reported, not raised.
    """
    config = Path(world.DEFAULT_CONFIG_DIR)
    out = Path(directory) / "traces.jsonl"
    try:
        summary = world.generate(n, seed, config, out, None)
    except Exception as exc:
        return ReplayCheck(problems=[f"generate() raised {_error(exc)}"])
    labels, problems = _labels(out.with_name("labels.json"), set(world.FAILURE_MODES))
    traces, invalid = _traces(out)
    check = ReplayCheck(traces=len(traces), problems=problems + invalid)
    if check.problems:
        return check
    if getattr(summary, "traces", None) != len(traces):
        check.problems.append(
            f"generate() reported {getattr(summary, 'traces', None)!r} traces and wrote "
            f"{len(traces)}"
        )
    strays = sorted(set(labels) - {t.trace_id for t in traces})
    if strays:
        check.problems.append(
            f"labels.json names {len(strays)} trace id(s) not written, e.g. {strays[0]}"
        )
    truth = _compare(
        "truth()",
        traces,
        lambda t: labels.get(t.trace_id),
        lambda t: world.truth(replay_inputs(t), config),
        "label",
    )
    if isinstance(truth, str):
        check.problems.append(truth)
    else:
        check.agreements.append(truth)
    try:
        agent = python_agent(world.AGENT)
    except LookupError as exc:
        check.problems.append(str(exc))
        return check
    if agent is not None:
        replayed = _compare(
            f"the agent ({world.AGENT})",
            traces,
            lambda t: t.output,
            lambda t: _as_trace(agent({**replay_inputs(t), "repeat": 0}, str(config))).output,
            "generated output",
        )
        if isinstance(replayed, str):
            check.problems.append(replayed)
        else:
            check.agreements.append(replayed)
    return check


def _compare(
    who: str,
    traces: list[Trace],
    expected: Callable[[Trace], Any],
    got: Callable[[Trace], Any],
    what: str,
) -> Agreement | str:
    """How often ``got`` equals ``expected``; the first exception, as a problem, ends it."""
    result = Agreement(who=who, compared=len(traces), disagree=0)
    for trace in traces:
        try:
            answer = got(trace)
        except Exception as exc:
            return f"{who} raised on trace {trace.trace_id}: {_error(exc)}"
        want = expected(trace)
        if answer != want:
            result.disagree += 1
            result.example = result.example or (
                f"trace {trace.trace_id}: {what} {_short(want)}, {who} {_short(answer)}"
            )
    return result


def _labels(path: Path, modes: set[str]) -> tuple[dict[str, str], list[str]]:
    if not path.is_file():
        return {}, [f"generate() wrote no {path.name} beside its traces"]
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return {}, [f"{path.name} is not JSON: {exc}"]
    if not isinstance(raw, dict):
        return {}, [f"{path.name} is not an object of trace id -> label"]
    labels: dict[str, str] = {}
    for trace_id, label in raw.items():
        mode = label.get("failure_mode") if isinstance(label, dict) else None
        if mode not in modes:
            return {}, [
                f"{path.name}: trace {trace_id}: failure_mode {mode!r} is not in FAILURE_MODES"
            ]
        labels[str(trace_id)] = str(mode)
    return labels, []


def _traces(path: Path) -> tuple[list[Trace], list[str]]:
    if not path.is_file():
        return [], [f"generate() wrote no {path}"]
    traces = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            traces.append(Trace.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "<root>"
            return [], [f"{path.name} line {number}: not a valid trace: {where}: {first['msg']}"]
    if not traces:
        return [], [f"generate() wrote no trace to {path}"]
    return traces, []


def _as_trace(value: object) -> Trace:
    if isinstance(value, Trace):
        return value
    if isinstance(value, dict):
        return Trace.model_validate(value)
    if isinstance(value, str | bytes):
        return Trace.model_validate_json(value)
    raise TypeError(f"returned {type(value).__name__}, not a Trace")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _error(exc: Exception) -> str:
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}"[:300]
