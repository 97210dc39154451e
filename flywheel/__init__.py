"""Flywheel core: the trace model, the store, ingestion and failure signals."""

from flywheel.errors import ConfigError, FlywheelError, ProjectNotFound, UserError
from flywheel.trace import FailureSignal, Feedback, Score, SignalKind, Step, StepType, Trace

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "FailureSignal",
    "Feedback",
    "FlywheelError",
    "ProjectNotFound",
    "Score",
    "SignalKind",
    "Step",
    "StepType",
    "Trace",
    "UserError",
    "__version__",
]
