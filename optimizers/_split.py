"""The optimisation / validation split of a cluster's failing traces.

The rule is the core's (`flywheel.splits`): a trace is held out by a keyed hash of its id and
the seed, so the replay gate's validation slice (built with the same rule) holds exactly the
traces no strategy saw, and a trace never changes side when its cluster grows. The split is
recorded per cluster (seed and fraction are reused on later runs). `build_task` is the only way
a strategy's input is made, and it refuses a validation trace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from flywheel.errors import FlywheelError
from flywheel.splits import DEFAULT_HOLDOUT, DEFAULT_SEED, split_trace_ids
from flywheel.trace import Trace
from optimizers._evidence import router_output
from optimizers._task import OptimizationTask


class SplitViolation(FlywheelError):
    """A validation trace was about to reach a strategy."""


class Split(BaseModel):
    """A cluster's recorded split. The validation ids are sealed: only `is_validation` and
    `validation_ids_for_replay` read them, and neither is reachable from a task."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster_id: str
    seed: int
    fraction: float = Field(gt=0, lt=1)
    optimisation_ids: tuple[str, ...]
    _validation: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @classmethod
    def sealed(
        cls,
        *,
        cluster_id: str,
        seed: int,
        fraction: float,
        optimisation: Iterable[str],
        validation: Iterable[str],
    ) -> Split:
        split = cls(
            cluster_id=cluster_id,
            seed=seed,
            fraction=fraction,
            optimisation_ids=tuple(sorted(optimisation)),
        )
        split._validation = frozenset(validation)
        overlap = split._validation & set(split.optimisation_ids)
        if overlap:
            raise SplitViolation(f"traces on both sides of the split: {sorted(overlap)[:3]}")
        return split

    def is_validation(self, trace_id: str) -> bool:
        return trace_id in self._validation

    def validation_ids_for_replay(self) -> list[str]:
        """The frozen validation part, for the replay gate (never for a strategy)."""
        return sorted(self._validation)

    def task_traces(self, traces: Iterable[Trace]) -> list[Trace]:
        """The traces a strategy may see: the optimisation part only."""
        allowed = set(self.optimisation_ids)
        return [trace for trace in traces if trace.trace_id in allowed]

    def check(self, task: OptimizationTask) -> None:
        """Raise `SplitViolation` if any trace of ``task`` belongs to the validation part."""
        leaked = [
            trace.trace_id
            for trace in (*task.failing, *task.neighbours)
            if trace.trace_id in self._validation
        ]
        if leaked:
            raise SplitViolation(
                f"cluster {task.cluster_id}: {len(leaked)} validation trace(s) in a strategy's "
                f"input (first {leaked[0]}); build tasks with optimizers.build_task"
            )


def default_signature(trace: Trace) -> str:
    """A coarse failure signature when the clustering's is not at hand: route, path, errors."""
    route = router_output(trace) or {}
    path = ">".join(step.name or step.type.value for step in trace.steps if not step.parent_id)
    errors = "|".join(sorted({(step.error or "").split(":")[0] for step in trace.errors}))
    return f"{route.get('route', '')}/{route.get('via', '')}/{path}/{errors}"


def make_split(
    cluster_id: str,
    trace_ids: Iterable[str],
    *,
    seed: int = DEFAULT_SEED,
    fraction: float = DEFAULT_HOLDOUT,
    previous: Split | None = None,
) -> Split:
    """Split a cluster's traces with the core rule (``previous`` fixes seed and fraction).

    ``trace_ids`` may be a mapping trace id -> failure signature (its keys are used): the rule
    holds each signature out at the same rate without looking at the others.
    """
    if previous is not None:
        seed, fraction = previous.seed, previous.fraction
    optimisation, validation = split_trace_ids(sorted(set(trace_ids)), holdout=fraction, seed=seed)
    return Split.sealed(
        cluster_id=cluster_id,
        seed=seed,
        fraction=fraction,
        optimisation=optimisation,
        validation=validation,
    )


def build_task(
    split: Split,
    failing: Sequence[Trace],
    neighbours: Sequence[Trace] = (),
    **fields: Any,
) -> OptimizationTask:
    """The only constructor of a strategy's input: validation traces are dropped here."""
    kept = split.task_traces(failing)
    healthy = [trace for trace in neighbours if not split.is_validation(trace.trace_id)]
    task = OptimizationTask(cluster_id=split.cluster_id, failing=kept, neighbours=healthy, **fields)
    split.check(task)
    return task


SignatureOf = Callable[[Trace], str]
