"""The extension point of the optimizer: `Strategy`."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from flywheel.errors import FlywheelError
from optimizers._task import OptimizationTask, Proposal


class NothingToPropose(FlywheelError):
    """A strategy has no change to propose for this cluster, and says why.

    Not a fault: when no strategy makes a candidate for a fixable cluster, the worker records
    one failure for the cluster whose reason lists what each strategy said.
    """


@runtime_checkable
class Strategy(Protocol):
    """Propose configuration changes for one fixable cluster.

    ``propose`` gets an `OptimizationTask` (the cluster, its triage, the optimisation split of
    its failing traces, healthy neighbours and the current configuration files) and returns
    up to ``limit`` proposals, best first; each is a dict {config file: complete new text} and
    a rationale. Return ``[]`` when the strategy does not apply to this kind of failure, and
    raise `NothingToPropose` (with the reason) when it applies but the evidence supports no
    change; never modify files yourself. Raising anything else is allowed: the worker records
    the exception as a failure of this strategy on this cluster and goes on with the others.
    A proposal whose YAML does
    not parse, or that touches a path outside the configuration, is recorded as a failure too.

    ``name`` is the short name used in branch names (``flywheel/<cluster>/<name>-<n>``).
    Instances run in worker processes, so they must be picklable.
    """

    name: str

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]: ...
