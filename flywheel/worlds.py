"""Replayable worlds: simulated agents whose every request can be run again under any
configuration, with a hidden truth, so the whole loop can be measured (`flywheel bench loop`).

A labelled world (`flywheel.bench._worlds`) is only a trace generator run as a separate
process. A replayable world is a Python module imported into this process: its agent is what
replay calls, its ``truth`` is what the loop measures against. Its contract is
`ReplayableWorld`; examples/worlds/REPLAYABLE.md says the same for a world writer.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import sys
import types
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Protocol, cast

from flywheel.errors import UserError

#: The demo world's name (as `flywheel bench cluster --worlds` calls it) and its module.
DEMO_WORLD = "acme"
DEMO_ALIASES = frozenset({DEMO_WORLD, "demo"})
DEFAULT_DEMO_MODULE = "examples.acme_assistant.cli"
#: Where a world writer reads the contract.
CONTRACT_DOC = "examples/worlds/REPLAYABLE.md"


class GenerationSummary(Protocol):
    """What `ReplayableWorld.generate` returns (a pydantic model or a dataclass will do).

    ``traces``: traces written; ``by_mode``: failing traces per true failure mode (modes with
    none may be absent); ``failing``: their total; ``failure_rate``: failing / traces;
    ``sessions``: distinct sessions; ``out``: the traces file; ``labels``: the labels file
    (``labels.json`` beside ``out``); ``seconds``: time taken.
    """

    @property
    def traces(self) -> int: ...
    @property
    def by_mode(self) -> Mapping[str, int]: ...
    @property
    def failing(self) -> int: ...
    @property
    def failure_rate(self) -> float: ...
    @property
    def sessions(self) -> int: ...
    @property
    def out(self) -> Path: ...
    @property
    def labels(self) -> Path: ...
    @property
    def seconds(self) -> float: ...


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
      its JSON): ``inputs`` is the replayed trace's ``input`` when that is an object (else
      ``{"input": <its text>}``) plus ``seed`` (its ``metadata.seed``, an int), ``timestamp``
      (its ISO 8601 time) and ``repeat`` (0, 1, ... for repeated runs); ``config_dir`` (`str`)
      is a checkout of the configuration under test. Called from many threads at once, with
      different directories, each of which may be deleted after the call.
    - ``FAILURE_MODES`` (`Collection[str]`): every true failure mode (a mapping's keys count).
    - ``CONFIG_FIXABLE`` (`Collection[str]`): the subset a change of the configuration
      directory can fix; the loop's goal is measured on these.
    - ``generate(n, seed, config_dir, out, start) -> GenerationSummary``: write ``n``
      production traces of the agent running under ``config_dir`` (``None``: the default) as
      native JSONL to ``out`` and their labels to ``labels.json`` beside it (failing trace id ->
      ``{"failure_mode", "root_cause", ...}``), with timestamps from ``start`` (a `date`, or
      ``None``) over about a week; deterministic for equal (n, seed, configuration, start).
    - ``truth(inputs, config_dir) -> str | None``: the failure mode the request ``inputs``
      (built from a generated trace as for replay, without ``repeat``) meets under the
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
    if not isinstance(agent, str) or not agent.strip():
        return [f"AGENT is not an adapter spec string: {agent!r}"]
    kind, sep, rest = agent.partition(":")
    if agent.startswith(("http://", "https://")) or kind in ("http", "langgraph"):
        return []
    spec = rest if kind == "python" else agent
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        return [f"AGENT {agent!r} is not python:package.module:function, http:URL or langgraph:"]
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        return [f"AGENT {agent!r} does not import ({exc})"]
    for part in attribute.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        return [f"AGENT {agent!r}: {module_name} has no function {attribute}"]
    return []


def demo_world() -> ReplayableWorld:
    """The demo world: the module named by ``FLYWHEEL_DEMO_WORLD`` (default the Acme assistant)."""
    name = os.environ.get("FLYWHEEL_DEMO_WORLD", DEFAULT_DEMO_MODULE)
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise UserError(
            f"cannot import the demo world '{name}' ({exc}); install Flywheel from its source "
            "checkout (`make demo`) or set FLYWHEEL_DEMO_WORLD to a module with generate()"
        ) from None
    problems = contract_problems(module)
    if problems:
        raise UserError(
            f"the demo world '{name}' (FLYWHEEL_DEMO_WORLD) is not replayable: "
            f"{'; '.join(problems)} (see {CONTRACT_DOC})"
        )
    return cast(ReplayableWorld, module)


def replayable_names(worlds_dir: Path) -> list[str]:
    """The demo and every Python package under ``worlds_dir`` (not imported: listing them runs
    none of their code)."""
    folder = Path(worlds_dir)
    packages = sorted(
        p.name
        for p in (folder.iterdir() if folder.is_dir() else [])
        if (p / "__init__.py").is_file() and p.name.isidentifier() and p.name not in DEMO_ALIASES
    )
    return [DEMO_WORLD, *packages]


def load_world(name: str, worlds_dir: Path) -> ReplayableWorld:
    """The replayable world called ``name``: the demo (``acme``) or the package
    ``worlds_dir/name``, checked against the contract; a `UserError` says what is missing."""
    if name in DEMO_ALIASES:
        return demo_world()
    valid = ", ".join(replayable_names(worlds_dir))
    folder = Path(worlds_dir) / name
    if not name.isidentifier() or not folder.is_dir():
        raise UserError(f"unknown world '{name}' under {worlds_dir}; replayable worlds: {valid}")
    if not (folder / "__init__.py").is_file():
        labelled = (folder / "generate.py").is_file()
        raise UserError(
            f"world '{name}' is not replayable: {folder} has no __init__.py ("
            f"{'a labelled world for `bench cluster`, ' if labelled else ''}not a Python package "
            f"with an agent); replayable worlds: {valid} (see {CONTRACT_DOC})"
        )
    module = _import_package(folder)
    problems = contract_problems(module)
    if problems:
        raise UserError(
            f"world '{name}' is not replayable: {'; '.join(problems)}; replayable worlds: "
            f"{valid} (see {CONTRACT_DOC})"
        )
    return cast(ReplayableWorld, module)


def _import_package(folder: Path) -> types.ModuleType:
    """Import the package in ``folder`` under the dotted name it has on ``sys.path`` (e.g.
    ``examples.worlds.NAME`` from a source checkout), else under a private parent package whose
    path is its parent folder; either way its own relative imports work."""
    folder = folder.resolve()
    for dotted in _dotted_names(folder):
        module = _import(dotted, folder)
        if module is not None and _is_from(module, folder):
            return module
    parent = f"_flywheel_worlds_{hashlib.sha256(str(folder.parent).encode()).hexdigest()[:12]}"
    if parent not in sys.modules:
        holder = types.ModuleType(parent, f"Replayable worlds under {folder.parent}")
        holder.__path__ = [str(folder.parent)]
        sys.modules[parent] = holder
    module = _import(f"{parent}.{folder.name}", folder)
    if module is None:
        raise UserError(f"world '{folder.name}' cannot be imported from {folder}")
    return module


def _import(dotted: str, folder: Path) -> types.ModuleType | None:
    """The module, None when the name itself leads nowhere; the world's own failure in one
    line (a syntax error, a missing dependency), never a stack."""
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (dotted + ".").startswith(exc.name + "."):
            return None
        problem: Exception = exc
    except Exception as exc:
        problem = exc
    raise UserError(
        f"world '{folder.name}' failed to import ({folder}): {type(problem).__name__}: {problem}"
    ) from None


def _dotted_names(folder: Path) -> list[str]:
    found = []
    for entry in sys.path:
        try:
            relative = folder.relative_to(Path(entry or ".").resolve())
        except (ValueError, OSError):
            continue
        if relative.parts and all(part.isidentifier() for part in relative.parts):
            found.append(".".join(relative.parts))
    return found


def _is_from(module: types.ModuleType, folder: Path) -> bool:
    where = getattr(module, "__file__", None)
    return where is not None and Path(where).resolve().parent == folder
