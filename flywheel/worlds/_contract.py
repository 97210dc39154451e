"""The replayable-world contract: `ReplayableWorld`, and what keeps a module from meeting it."""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Protocol, cast

from flywheel.trace import Trace


class GenerationSummary(Protocol):
    """What `ReplayableWorld.generate` returns (a pydantic model, a dataclass or a namespace).

    ``traces``: traces written; ``failing``: how many of them fail; ``by_mode``: failing
    traces per true failure mode (modes with none may be absent); ``out``: the traces file;
    ``labels``: the labels file (``labels.json`` beside ``out``). Anything else (the demo's
    ``sessions``, ``failure_rate``, ``seconds``) is shown when present.
    """

    @property
    def traces(self) -> int: ...
    @property
    def failing(self) -> int: ...
    @property
    def by_mode(self) -> Mapping[str, int]: ...
    @property
    def out(self) -> Path: ...
    @property
    def labels(self) -> Path: ...


class ReplayableWorld(Protocol):
    """A simulated agent, its editable configuration, a traffic generator and its hidden truth.

    Usually a module; every member is module-level.

    - ``DEFAULT_CONFIG_DIR`` (`Path`): the week-1 configuration, a directory of text files
      (``prompts/*.md``, ``routing.yaml``, ``fewshot/*.yaml``, ``tools.yaml``). The loop
      copies it into a git repository (branch ``main``) that Flywheel edits on branches.
    - ``AGENT`` (`str`): how replay reaches the agent, an adapter spec written to
      ``[replay] agent``: ``python:package.module:function``, ``http:URL`` or
      ``langgraph:pkg.mod:factory[,pkg.mod:prepare]``. A Python function is called as
      ``function(inputs, config_dir)`` and returns a `flywheel.trace.Trace` (or its dict, or
      its JSON): ``inputs`` is `replay_inputs` of the replayed trace (its ``input`` object,
      its ``metadata.seed``, its ISO 8601 time) plus ``repeat`` (0, 1, ... for repeated
      runs); ``config_dir`` (`str`) is a checkout of the configuration under test. Called
      from many threads at once, with different directories, each of which may be deleted
      after the call. Under the configuration a trace was generated with, repeat 0 gives
      that trace again (its ``output`` at least: `check_replay` compares them).
    - ``FAILURE_MODES`` (`Collection[str]`): every true failure mode (a mapping's keys count).
    - ``CONFIG_FIXABLE`` (`Collection[str]`): the subset a change of the configuration
      directory can fix; the loop's goal is measured on these.
    - ``generate(n, seed, config_dir, out, start) -> GenerationSummary``: write ``n``
      production traces of the agent running under ``config_dir`` (``None``: the default) as
      native JSONL to ``out`` and their labels to ``labels.json`` beside it (failing trace id ->
      ``{"failure_mode", "root_cause", ...}``), with timestamps from ``start`` (a `date`, or
      ``None``) over about a week; deterministic for equal (n, seed, configuration, start).
    - ``truth(inputs, config_dir) -> str | None``: the failure mode the request ``inputs``
      (`replay_inputs` of a generated trace, without ``repeat``) meets under the
      configuration in ``config_dir`` (a `Path`), ``None`` if it succeeds. Under the
      configuration a trace was generated with, it is that trace's label. Equal inputs draw
      equal random numbers under every configuration, so two configurations compared on the
      same requests differ only by what the configuration does.

    Nothing may raise for a valid request; a bad configuration file raises `UserError` naming
    the file and key.
    """

    @property
    def DEFAULT_CONFIG_DIR(self) -> Path: ...
    @property
    def AGENT(self) -> str: ...
    @property
    def FAILURE_MODES(self) -> Collection[str]: ...
    @property
    def CONFIG_FIXABLE(self) -> Collection[str]: ...

    def generate(
        self, n: int, seed: int, config_dir: Path | None, out: Path, start: date | None = None, /
    ) -> GenerationSummary: ...

    def truth(self, inputs: dict[str, Any], config_dir: Path, /) -> str | None: ...


#: member -> the arguments it is called with (None: a constant).
_MEMBERS: dict[str, tuple[Any, ...] | None] = {
    "DEFAULT_CONFIG_DIR": None,
    "AGENT": None,
    "FAILURE_MODES": None,
    "CONFIG_FIXABLE": None,
    "generate": (1, 1, None, Path("traces.jsonl"), None),
    "truth": ({}, Path()),
}


def contract_problems(world: object) -> list[str]:
    """What keeps ``world`` from being a `ReplayableWorld` (empty: it conforms).

    Checks presence, types, that the configuration directory exists, that fixable modes are
    modes, that the functions accept their arguments and that a Python agent imports.
    """
    missing = [name for name in _MEMBERS if not hasattr(world, name)]
    problems = [f"missing {', '.join(missing)}"] if missing else []
    for name, args in _MEMBERS.items():
        if args is None or name in missing:
            continue
        function = getattr(world, name)
        if not callable(function):
            problems.append(f"{name} is not a function")
            continue
        try:
            inspect.signature(function).bind(*args)
        except TypeError:
            problems.append(f"{name}() does not take ({', '.join(_ARGS[name])})")
        except ValueError:  # a builtin without a signature: trust it
            pass
    config = getattr(world, "DEFAULT_CONFIG_DIR", None)
    if "DEFAULT_CONFIG_DIR" not in missing and not (
        isinstance(config, str | os.PathLike) and Path(config).is_dir()
    ):
        problems.append(f"DEFAULT_CONFIG_DIR is not a directory: {config!r}")
    modes = _names(world, "FAILURE_MODES", problems, missing)
    fixable = _names(world, "CONFIG_FIXABLE", problems, missing)
    strays = sorted(set(fixable or ()) - set(modes or ()))
    if modes and strays:
        problems.append(f"CONFIG_FIXABLE names modes not in FAILURE_MODES: {', '.join(strays)}")
    if "AGENT" not in missing:
        problems.extend(_agent_problems(getattr(world, "AGENT", None)))
    return problems


_ARGS = {
    "generate": ("n", "seed", "config_dir", "out", "start"),
    "truth": ("inputs", "config_dir"),
}


def _names(world: object, name: str, problems: list[str], missing: list[str]) -> list[str] | None:
    if name in missing:
        return None
    value = getattr(world, name)
    if isinstance(value, str | bytes) or not isinstance(value, Collection):
        problems.append(f"{name} is not a collection of mode names")
        return None
    names = list(value)
    if not all(isinstance(n, str) and n for n in names):
        problems.append(f"{name} holds something other than mode names")
        return None
    if name == "FAILURE_MODES" and not names:
        problems.append("FAILURE_MODES is empty")
    return names


def _agent_problems(agent: object) -> list[str]:
    """A Python entry point must import here (replay calls it in this process)."""
    try:
        python_agent(agent)
    except LookupError as exc:
        return [str(exc)]
    return []


def python_agent(agent: object) -> Callable[..., Any] | None:
    """The function a Python ``AGENT`` spec names (None for an HTTP or LangGraph agent); a
    `LookupError` says why it cannot be reached."""
    if not isinstance(agent, str) or not agent.strip():
        raise LookupError(f"AGENT is not an adapter spec string: {agent!r}")
    kind, _, rest = agent.partition(":")
    if agent.startswith(("http://", "https://")) or kind in ("http", "langgraph"):
        return None
    spec = rest if kind == "python" else agent
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise LookupError(
            f"AGENT {agent!r} is not python:package.module:function, http:URL or langgraph:"
        )
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupError(f"AGENT {agent!r} does not import ({exc})") from None
    for part in attribute.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise LookupError(f"AGENT {agent!r}: {module_name} has no function {attribute}")
    return cast(Callable[..., Any], target)


def replay_inputs(trace: Trace) -> dict[str, Any]:
    """The request of ``trace`` as a world's agent and truth receive it: the trace's ``input``
    when it is an object (else ``{"input": <its text>}``), plus ``seed`` from
    ``metadata.seed`` (an int) and ``timestamp`` (ISO 8601) unless the input has them."""
    inputs: dict[str, Any] = (
        dict(trace.input) if isinstance(trace.input, dict) else {"input": trace.input_text}
    )
    seed = trace.metadata.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and "seed" not in inputs:
        inputs["seed"] = seed
    if trace.timestamp is not None and "timestamp" not in inputs:
        inputs["timestamp"] = trace.timestamp.isoformat()
    return inputs
