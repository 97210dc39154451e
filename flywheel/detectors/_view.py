"""`TraceView`: one trace as the detectors read it, each convention parsed once and shared."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from flywheel.detectors._conventions import (
    Notice,
    earlier_turns,
    tool_schemas,
    truncation_notices,
)
from flywheel.detectors._documents import Retrieval, read_retrieval
from flywheel.trace import FailureSignal, Step, StepType, Trace


class TraceView:
    """A trace with its failure signals, and lazily parsed readings every detector shares."""

    def __init__(self, trace: Trace, signals: Sequence[FailureSignal] = ()) -> None:
        self.trace = trace
        self.signals = tuple(signals)

    @cached_property
    def request(self) -> str:
        return self.trace.input_text

    @cached_property
    def output(self) -> str:
        return self.trace.output_text

    @cached_property
    def retrieval(self) -> Retrieval:
        return read_retrieval(self.trace)

    @cached_property
    def history(self) -> list[str]:
        """Texts of the earlier turns of the conversation, whatever the convention."""
        return earlier_turns(self.trace)

    @cached_property
    def truncations(self) -> list[Notice]:
        return truncation_notices(self.trace)

    @cached_property
    def tool_schemas(self) -> dict[str, dict[str, Any]]:
        return tool_schemas(self.trace)

    @cached_property
    def answer_step(self) -> Step | None:
        """The last model call: the step that wrote the answer, when there is one."""
        llms = [s for s in self.trace.steps if s.type is StepType.llm]
        return llms[-1] if llms else None

    @property
    def answer_id(self) -> str | None:
        return self.answer_step.id if self.answer_step else None

    @cached_property
    def router(self) -> Step | None:
        return next((s for s in self.trace.steps if s.type is StepType.router), None)

    @cached_property
    def tool_steps(self) -> list[Step]:
        return [s for s in self.trace.steps if s.type is StepType.tool]

    @cached_property
    def comments(self) -> list[str]:
        return [f.comment for f in self.trace.feedback if f.comment]
