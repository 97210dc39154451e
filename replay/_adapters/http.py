"""The HTTP adapter: ``POST {"inputs", "config": {"dir"}}`` to a URL, a trace comes back."""

from __future__ import annotations

from typing import Any

import httpx

from flywheel.trace import Trace
from replay._adapters._protocol import AgentError, as_trace
from replay._models import ConfigRef


class HttpAdapter:
    """Replays an agent in any language behind an HTTP endpoint.

    Anything but a 200 with a trace as JSON is an `AgentError` (status and the start of the
    body in the message); timeouts are the harness's (the client's own is a generous backstop).
    """

    name = "http"

    def __init__(self, url: str, *, max_connections: int = 32, timeout_s: float = 600.0) -> None:
        self.url = url
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._timeout = timeout_s
        self._client: httpx.AsyncClient | None = None

    async def run(self, inputs: dict[str, Any], config: ConfigRef) -> Trace:
        if self._client is None:
            self._client = httpx.AsyncClient(limits=self._limits, timeout=self._timeout)
        body = {"inputs": inputs, "config": {"dir": str(config.directory)}}
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise AgentError(f"{type(exc).__name__} calling {self.url}: {exc}") from None
        if response.status_code != 200:
            raise AgentError(f"HTTP {response.status_code} from {self.url}: {response.text[:300]}")
        return as_trace(response.content)

    def __getstate__(self) -> dict[str, Any]:  # shipped to Ray workers without its client
        return {**self.__dict__, "_client": None}

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
