"""`AgentAdapter`: how replay reaches the agent under test, whatever it is written in."""

from __future__ import annotations

import importlib
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from flywheel.errors import UserError
from flywheel.trace import Trace
from replay._models import ConfigRef


class AgentError(Exception):
    """The agent failed to produce a trace (raised, answered an HTTP error, refused the input).

    The harness records it as an infrastructure error of that case, never as a failed case.
    """


class InvalidTrace(AgentError):
    """The agent answered, but not with a valid trace."""


class WorkerLost(AgentError):
    """The process running the agent died under the case, every time it was retried.

    A fault of the infrastructure (a killed or evicted Ray worker), recorded with the kind
    ``worker``, never a verdict on the configuration replayed.
    """


@runtime_checkable
class AgentAdapter(Protocol):
    """Runs the agent once: ``inputs`` (the case's inputs plus ``repeat``) under ``config``.

    Contract: return the run's `Trace`; raise anything on failure (`AgentError` when the
    adapter knows why). Whatever is raised, the harness records an infrastructure error for
    that case and carries on; it also enforces the per-case timeout by cancelling the call, so
    an adapter must be cancellable (async I/O, or a thread that is abandoned). Adapters may
    hold connections: `aclose` releases them. To run on a Ray cluster (``[compute] executor``)
    an adapter is pickled before its first call: it must pickle, dropping its connections.
    """

    name: str

    async def run(self, inputs: dict[str, Any], config: ConfigRef) -> Trace: ...

    async def aclose(self) -> None: ...


def as_trace(value: object) -> Trace:
    """An agent's answer as a `Trace`: a Trace, a dict, or JSON text/bytes of one."""
    if isinstance(value, Trace):
        return value
    try:
        if isinstance(value, dict):
            return Trace.model_validate(value)
        if isinstance(value, str | bytes):
            return Trace.model_validate_json(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "<root>"
        raise InvalidTrace(f"not a valid trace: {where}: {first['msg']}") from None
    raise InvalidTrace(f"the agent returned {type(value).__name__}, not a trace")


def import_object(spec: str) -> Any:
    """``package.module:attribute`` → the attribute (a UserError says what is wrong)."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UserError(f"'{spec}' is not an entry point; write it as package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"cannot import '{module_name}' for '{spec}': {exc}") from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UserError(f"'{module_name}' has no attribute '{attribute}' (from '{spec}')")
        target = getattr(target, part)
    if not callable(target):
        raise UserError(f"'{spec}' is not callable")
    return target
