"""Agent adapters: one Protocol, one small module per way of reaching an agent."""

from __future__ import annotations

from flywheel.errors import UserError
from replay._adapters._protocol import (
    AgentAdapter,
    AgentError,
    InvalidTrace,
    WorkerLost,
    as_trace,
)
from replay._adapters.http import HttpAdapter
from replay._adapters.langgraph import LangGraphAdapter
from replay._adapters.python import PythonAdapter

ADAPTER_KINDS = ("python", "http", "langgraph")


def adapter_from_spec(spec: str, *, concurrency: int = 32) -> AgentAdapter:
    """An adapter from a string: ``python:pkg.mod:fn``, ``http:URL`` (or a bare ``http(s)://``
    URL), ``langgraph:pkg.mod:factory[,pkg.mod:prepare]``; a bare ``pkg.mod:fn`` is python."""
    if spec.startswith(("http://", "https://")):
        return HttpAdapter(spec, max_connections=concurrency)
    kind, sep, rest = spec.partition(":")
    if not sep:
        valid = ", ".join(ADAPTER_KINDS)
        raise UserError(
            f"unknown agent '{spec}'; write KIND:TARGET with KIND one of {valid}, "
            "or package.module:function"
        )
    if kind not in ADAPTER_KINDS:
        return PythonAdapter(spec, max_threads=concurrency)
    if kind == "python":
        return PythonAdapter(rest, max_threads=concurrency)
    if kind == "http":
        return HttpAdapter(rest, max_connections=concurrency)
    factory, _, prepare = rest.partition(",")
    return LangGraphAdapter(factory, prepare=prepare or None)


__all__ = [
    "ADAPTER_KINDS",
    "AgentAdapter",
    "AgentError",
    "HttpAdapter",
    "InvalidTrace",
    "LangGraphAdapter",
    "PythonAdapter",
    "WorkerLost",
    "adapter_from_spec",
    "as_trace",
]
