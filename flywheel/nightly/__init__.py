"""The nightly pipeline: ingest, detect, cluster, triage, optimize, gate, queue, drift.

- `run_nightly` runs the stages named in ``[nightly] stages`` (each registered by a
  plugin's ``register_stages`` hook, the core's own included), records every stage in the store,
  resumes an unfinished run, and writes ``nightly-<run id>.md`` / ``.json``.
- `Stage` is the extension point (``name``, ``run(StageContext) -> StageResult``).
- `drift_history` reads main's regression pass rate night by night.
"""

from flywheel.nightly._pipeline import (
    NightlyFailed,
    available_stages,
    build_report,
    latest_report,
    resolve_stages,
    run_nightly,
    stages,
)
from flywheel.nightly._report import NightlyReport, StageReport
from flywheel.nightly._runs import drift_history
from flywheel.nightly._stage import NightlyOptions, Stage, StageContext, StageResult

__all__ = [
    "NightlyFailed",
    "NightlyOptions",
    "NightlyReport",
    "Stage",
    "StageContext",
    "StageReport",
    "StageResult",
    "available_stages",
    "build_report",
    "drift_history",
    "latest_report",
    "resolve_stages",
    "run_nightly",
    "stages",
]
