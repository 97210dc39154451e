"""Finding a replayable world by name: the demo, or a package under a worlds folder."""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import types
from pathlib import Path
from typing import cast

from flywheel.errors import UserError
from flywheel.worlds._contract import ReplayableWorld, contract_problems

#: The demo world's name (as `flywheel bench cluster --worlds` calls it) and its module.
DEMO_WORLD = "acme"
DEMO_ALIASES = frozenset({DEMO_WORLD, "demo"})
DEFAULT_DEMO_MODULE = "examples.acme_assistant.cli"
#: Where a world writer reads the contract.
CONTRACT_DOC = "examples/worlds/REPLAYABLE.md"


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
