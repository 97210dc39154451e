"""Evaluators: how a search strategy (GEPA) scores a configuration on optimisation traces.

The optimizer may not import replay (the layers forbid it), yet the natural evaluator is the
replay harness. So evaluators are found by name among those plugins register through the hook
``register_evaluators`` (`flywheel.hookspecs`): ``register(name, factory)`` with
``factory(project) -> Evaluator``. The built-in ``replay`` evaluator registers there from the
replay package exactly as a third-party one would; ``[optimize] gepa_evaluator`` in
flywheel.toml chooses one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from flywheel import plugins
from flywheel.errors import UserError
from flywheel.trace import Trace

if TYPE_CHECKING:
    from flywheel.project import Project


@runtime_checkable
class Evaluator(Protocol):
    """Scores a configuration on traces: one float in [0, 1] per trace, higher is better.

    ``candidate_files`` is the complete configuration (path relative to the configuration
    directory -> text); ``traces`` are optimisation traces (the strategy never holds others),
    whose requests are run again under that configuration. Return the scores in the order of
    ``traces``. May raise: the strategy's failure on that cluster is then recorded. Instances
    travel to worker processes, so they must be picklable.
    """

    def evaluate(self, candidate_files: dict[str, str], traces: Sequence[Trace]) -> list[float]: ...


def evaluators() -> dict[str, plugins.Registered]:
    """Every registered evaluator by name (its ``register(name, factory)`` call)."""
    return plugins.registered("register_evaluators", _build)


def _build(calls: list[plugins.Registered]) -> dict[str, plugins.Registered]:
    for call in calls:
        if len(call.args) != 2 or not isinstance(call.args[0], str) or not callable(call.args[1]):
            raise plugins.PluginError(
                f"plugin '{call.plugin}' registered {call.args!r} as an evaluator "
                "(register(name, factory) with factory(project) -> Evaluator)"
            )
    return plugins.by_name("evaluator", calls, lambda call: str(call.args[0]))


def evaluator_names() -> list[str]:
    """Names of the registered evaluators."""
    return sorted(evaluators())


def load_evaluator(name: str, project: Project) -> Evaluator:
    """The evaluator registered as ``name``, built for ``project``.

    Raises `UserError` for an unknown name (listing the registered ones) or a factory that
    does not return an `Evaluator`.
    """
    found = evaluators()
    call = found.get(name)
    if call is None:
        valid = ", ".join(sorted(found)) or "none installed"
        raise UserError(
            f"unknown evaluator '{name}' ([optimize] gepa_evaluator); valid: {valid}. "
            "A plugin adds one through the hook register_evaluators"
        )
    evaluator = call.args[1](project)
    if not isinstance(evaluator, Evaluator):
        raise UserError(
            f"evaluator '{name}' (plugin '{call.plugin}') returned {type(evaluator).__name__}, "
            "which has no evaluate(candidate_files, traces) method"
        )
    return evaluator
