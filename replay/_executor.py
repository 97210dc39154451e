"""Where the agent runs: ``[compute] executor``. ``local`` is this process; Ray is optional.

An executor wraps the agent adapter, so the harness is the same wherever a case runs: it keeps
the cache, the concurrency limit, the per-case timeout, scoring and the store, and only the
agent's calls travel. Ray is imported only when a Ray executor is asked for (by
`flywheel.compute`, for `replay._ray`).
"""

from __future__ import annotations

from flywheel.config import ComputeConfig
from replay._adapters import AgentAdapter


def with_executor(
    agent: AgentAdapter, compute: ComputeConfig | None, *, concurrency: int
) -> AgentAdapter:
    """``agent`` as it runs under ``compute.executor``: itself for ``local``, else an adapter
    that runs it on Ray workers (connected and started now: a bad address fails here, in one
    line). ``concurrency`` is the harness's limit, split over the workers."""
    if compute is None or compute.executor == "local":
        return agent
    from replay._ray import RayAdapter

    return RayAdapter(agent, compute, concurrency=concurrency)
