"""Replay: re-run the agent under a candidate configuration and gate it with honest statistics.

- Agents are reached through an `AgentAdapter` (`PythonAdapter`, `HttpAdapter`,
  `LangGraphAdapter`, or `adapter_from_spec("python:pkg.mod:fn")`).
- Cases come in versioned `CaseSet`s (`validation_set`, `regression_set`, `blocking_set`, or
  the `build_*` functions reading the store), kept in the project database by `ReplayStore`.
- `replay_case_set` runs a set (asyncio, concurrency limit, timeouts, k repeats, cached and
  resumable results); `Scorer`s judge each trace; errors are recorded, never scored.
- `pair_results` + `evaluate_gate` decide (`GateConfig`), `gate_candidate` does it all.
"""

from flywheel.config import GateConfig, HarnessOptions, ReplayConfig
from replay._adapters import (
    AgentAdapter,
    AgentError,
    HttpAdapter,
    InvalidTrace,
    LangGraphAdapter,
    PythonAdapter,
    adapter_from_spec,
)
from replay._candidates import (
    adhoc_candidate,
    resolve_candidate,
)
from replay._cases import (
    blocking_set,
    build_blocking_set,
    build_regression_set,
    build_validation_slice,
    case_from_trace,
    regression_set,
    split_cluster,
    validation_set,
)
from replay._executor import with_executor
from replay._gate import GateReport, evaluate_gate
from replay._harness import ReplayOutcome, replay_case_set, replay_sync
from replay._judge import JudgeVerdict, LLMJudge
from replay._models import (
    Case,
    CaseResult,
    CaseSet,
    Check,
    ConfigRef,
    Expectations,
    Status,
    Suite,
)
from replay._pairing import PairedSuite, pair_results
from replay._run import gate_candidate, replay_config, suite_case_sets
from replay._scorers import Scorer, default_scorers, scorers, scorers_named
from replay._store import ReplayStore

__all__ = [
    "AgentAdapter",
    "AgentError",
    "Case",
    "CaseResult",
    "CaseSet",
    "Check",
    "ConfigRef",
    "Expectations",
    "GateConfig",
    "GateReport",
    "HarnessOptions",
    "HttpAdapter",
    "InvalidTrace",
    "JudgeVerdict",
    "LLMJudge",
    "LangGraphAdapter",
    "PairedSuite",
    "PythonAdapter",
    "ReplayConfig",
    "ReplayOutcome",
    "ReplayStore",
    "Scorer",
    "Status",
    "Suite",
    "adapter_from_spec",
    "adhoc_candidate",
    "blocking_set",
    "build_blocking_set",
    "build_regression_set",
    "build_validation_slice",
    "case_from_trace",
    "default_scorers",
    "evaluate_gate",
    "gate_candidate",
    "pair_results",
    "regression_set",
    "replay_case_set",
    "replay_config",
    "replay_sync",
    "resolve_candidate",
    "scorers",
    "scorers_named",
    "split_cluster",
    "suite_case_sets",
    "validation_set",
    "with_executor",
]
