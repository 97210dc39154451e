"""Evaluators: how a search strategy (GEPA) scores a configuration on optimisation traces.

The optimizer may not import replay (the layers forbid it), yet the natural evaluator is the
replay harness. So evaluators are found by name through the entry point group
``flywheel.evaluators``: each entry names a factory ``factory(project) -> Evaluator``. The
built-in ``replay`` evaluator registers there from the replay package exactly as a third-party
one would; ``[optimize] gepa_evaluator`` in flywheel.toml chooses one.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from flywheel.errors import UserError
from flywheel.trace import Trace

if TYPE_CHECKING:
    from flywheel.project import Project

#: The entry point group of evaluator factories.
EVALUATOR_GROUP = "flywheel.evaluators"


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


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=EVALUATOR_GROUP)}


def evaluator_names() -> list[str]:
    """Names of the installed evaluators (entry point group ``flywheel.evaluators``)."""
    return sorted(_entry_points())


def load_evaluator(name: str, project: Project) -> Evaluator:
    """The evaluator registered as ``name``, built for ``project``.

    Raises `UserError` for an unknown name (listing the installed ones), a factory that cannot
    be imported, or one that does not return an `Evaluator`.
    """
    found = _entry_points()
    entry = found.get(name)
    if entry is None:
        valid = ", ".join(sorted(found)) or "none installed"
        raise UserError(
            f"unknown evaluator '{name}' ([optimize] gepa_evaluator); valid: {valid}. "
            f"A package adds one under the entry point group '{EVALUATOR_GROUP}'"
        )
    try:
        factory = entry.load()
    except Exception as exc:  # an installed plugin that is broken
        raise UserError(f"cannot load evaluator '{name}' ({entry.value}): {exc}") from None
    evaluator = factory(project)
    if not isinstance(evaluator, Evaluator):
        raise UserError(
            f"evaluator '{name}' ({entry.value}) returned {type(evaluator).__name__}, "
            "which has no evaluate(candidate_files, traces) method"
        )
    return evaluator
