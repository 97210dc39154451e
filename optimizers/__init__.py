"""optimizers: candidate configuration fixes for fixable failure clusters, each in a git branch.

- `adopt_or_init_config_repo` / `open_workspace`: the agent's configuration repository.
- `optimize`: split each cluster's failing traces (recorded; strategies see only the
  optimisation part), run the strategies on a pluggable executor, make one branch
  ``flywheel/<cluster>/<strategy>-<n>`` per proposal, hand unfixable clusters to their owner.
- `Strategy` is the extension point; built-ins ``rules``, ``fewshot``, ``routing``, ``revert``
  and ``gepa`` (the optional package; scored by an `Evaluator` found by name, `load_evaluator`)
  are registered by `optimizers._plugin` through the hook ``register_strategies``, as a
  plugin's are; `resolve_strategy` finds one by name.
"""

from optimizers._candidates import candidate_diff, close_candidate
from optimizers._configured import configured_strategies, configured_strategy
from optimizers._evaluators import Evaluator, evaluator_names, load_evaluator
from optimizers._protocol import NothingToPropose, Strategy
from optimizers._registry import (
    DEFAULT_STRATEGIES,
    resolve_strategy,
    strategy_names,
)
from optimizers._split import Split, SplitViolation, build_task, make_split
from optimizers._store import CandidateRecord, Handoff, OptimizerStore
from optimizers._task import FIX_TYPES, ConfigChange, OptimizationTask, Proposal
from optimizers._workers import (
    ClusterInput,
    InlineExecutor,
    OptimizeResult,
    optimize,
)
from optimizers._workspace import (
    CandidateFailure,
    ConfigWorkspace,
    adopt_or_init_config_repo,
    open_workspace,
)
from optimizers.strategies.gepa import GepaStrategy

__all__ = [
    "DEFAULT_STRATEGIES",
    "FIX_TYPES",
    "CandidateFailure",
    "CandidateRecord",
    "ClusterInput",
    "ConfigChange",
    "ConfigWorkspace",
    "Evaluator",
    "GepaStrategy",
    "Handoff",
    "InlineExecutor",
    "NothingToPropose",
    "OptimizationTask",
    "OptimizeResult",
    "OptimizerStore",
    "Proposal",
    "Split",
    "SplitViolation",
    "Strategy",
    "adopt_or_init_config_repo",
    "build_task",
    "candidate_diff",
    "close_candidate",
    "configured_strategies",
    "configured_strategy",
    "evaluator_names",
    "load_evaluator",
    "make_split",
    "open_workspace",
    "optimize",
    "resolve_strategy",
    "strategy_names",
]
