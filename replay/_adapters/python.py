"""The Python entry-point adapter: ``package.module:function(inputs, config_dir) -> Trace``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from flywheel.trace import Trace
from replay._adapters._protocol import as_trace, import_object
from replay._models import ConfigRef


class PythonAdapter:
    """Calls a function in this process with ``(inputs, config_dir: str)``.

    A coroutine function is awaited on the harness's loop; a plain function runs in a thread
    pool of ``max_threads`` (give it the harness concurrency so the pool is never the limit).
    A timed-out thread cannot be killed: it finishes in the background, its result dropped.
    """

    name = "python"

    def __init__(self, target: str | Callable[..., Any], *, max_threads: int = 32) -> None:
        self.target = target if callable(target) else import_object(target)
        self._is_async = inspect.iscoroutinefunction(self.target) or (
            inspect.iscoroutinefunction(getattr(self.target, "__call__", None))  # noqa: B004
        )
        self._pool: ThreadPoolExecutor | None = None
        self._max_threads = max_threads

    async def run(self, inputs: dict[str, Any], config: ConfigRef) -> Trace:
        directory = str(config.directory)
        if self._is_async:
            return as_trace(await self.target(inputs, directory))
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._max_threads, thread_name_prefix="replay-agent")
        loop = asyncio.get_running_loop()
        value = await loop.run_in_executor(self._pool, partial(self.target, inputs, directory))
        return as_trace(value)

    def __getstate__(self) -> dict[str, Any]:  # shipped to Ray workers without its threads
        return {**self.__dict__, "_pool": None}

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
