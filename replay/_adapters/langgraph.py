"""The LangGraph adapter: ``factory(config_dir)`` builds a compiled graph; invoke gives a trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flywheel.trace import Trace
from replay._adapters._protocol import InvalidTrace, as_trace, import_object
from replay._models import ConfigRef


class LangGraphAdapter:
    """Builds one graph per configuration (cached by content digest) and ``ainvoke``s it.

    ``prepare`` turns the case's inputs into the graph's input state (default: the inputs as
    they are); the trace is read from the final state's ``output_key``.
    """

    name = "langgraph"

    def __init__(
        self,
        factory: str | Callable[[str], Any],
        *,
        prepare: str | Callable[[dict[str, Any]], Any] | None = None,
        output_key: str = "trace",
    ) -> None:
        self.factory = factory if callable(factory) else import_object(factory)
        self.prepare = import_object(prepare) if isinstance(prepare, str) else prepare
        self.output_key = output_key
        self._graphs: dict[str, Any] = {}

    async def run(self, inputs: dict[str, Any], config: ConfigRef) -> Trace:
        key = config.digest
        if key not in self._graphs:
            self._graphs[key] = self.factory(str(config.directory))
        state = self.prepare(inputs) if self.prepare is not None else inputs
        result = await self._graphs[key].ainvoke(state)
        if not isinstance(result, dict) or self.output_key not in result:
            raise InvalidTrace(f"the graph's final state has no '{self.output_key}'")
        return as_trace(result[self.output_key])

    def __getstate__(self) -> dict[str, Any]:  # shipped to Ray workers without compiled graphs
        return {**self.__dict__, "_graphs": {}}

    async def aclose(self) -> None:
        self._graphs.clear()
