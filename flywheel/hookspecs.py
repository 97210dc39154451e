"""Every way to extend Flywheel, in one place: the pluggy hook specifications.

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose names are the
hooks below; a package makes it known under the entry point group ``flywheel``::

    # pyproject.toml of the plugin's package
    [project.entry-points.flywheel]
    acme = "acme_flywheel.plugin"

    # acme_flywheel/plugin.py
    from flywheel.hookspecs import hookimpl

    @hookimpl
    def register_formats(register):
        register(AcmeFormat())

Flywheel's own formats, detectors, stages, strategies, scorers and commands are plugins of
exactly this shape (``flywheel._plugin``, ``triage._plugin``, ``optimizers._plugin``,
``replay._plugin``, ``ui._plugin``), listed by ``flywheel plugins``. A hook implementation may
take fewer arguments than its specification. Names are unique per kind: a second plugin
registering a taken name is an error naming both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    import typer

#: The project name of every hook (and of the entry point group).
PROJECT = "flywheel"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_formats(register: Callable[[Any], None]) -> None:
    """Add trace formats for ``flywheel ingest``: ``register(format)`` with a
    `flywheel.formats.TraceFormat` (``name``, ``sniff``, ``parse``). Detection asks every
    format's sniffer; among equally confident ones the first registered wins."""


@hookspec
def register_detectors(register: Callable[[Any], None]) -> None:
    """Add failure detectors: ``register(detector)`` with a `flywheel.detectors.Detector`, as
    the ``@flywheel.detectors.detector(name, reads=..., emits=...)`` decorator returns it."""


@hookspec
def register_stages(register: Callable[[Any], None]) -> None:
    """Add stages that ``[nightly] stages`` may name: ``register(stage)`` with a
    `flywheel.nightly.Stage` (``name`` and an idempotent ``run(context)``)."""


@hookspec
def register_strategies(register: Callable[[str, Callable[[], Any]], None]) -> None:
    """Add optimizer strategies that ``flywheel optimize --strategy`` may name:
    ``register(name, factory)``, the factory a zero-argument callable (a class, say) returning
    an `optimizers.Strategy`."""


@hookspec
def register_scorers(register: Callable[[Any], None]) -> None:
    """Add replay scorers that ``[replay.harness] scorers`` may name: ``register(scorer)`` with a
    `replay.Scorer` (``name`` and ``async score(case, trace) -> Check``)."""


@hookspec
def register_evaluators(register: Callable[[str, Callable[[Any], Any]], None]) -> None:
    """Add evaluators that ``[optimize] gepa_evaluator`` may name: ``register(name, factory)``,
    ``factory(project)`` returning an `optimizers.Evaluator` (scores a configuration on traces
    for search strategies such as GEPA)."""


@hookspec
def register_candidate_providers(register: Callable[[Any], None]) -> None:
    """Add sources of candidate fixes for the gate: ``register(provider)`` with a
    `flywheel.candidates.CandidateProvider`."""


@hookspec
def register_commands(cli: typer.Typer, bench: typer.Typer) -> None:
    """Add commands to the ``flywheel`` CLI (``cli``) or to ``flywheel bench`` (``bench``)."""
