"""Typed errors of the LLM layer.

Every :class:`LLMError` is an *infrastructure* error: the provider, not the agent under test,
failed. Callers (replay, judge, triage) must record it as such (e.g. ``status="infra_error"``)
and never score it as a wrong answer.
"""

from __future__ import annotations

from typing import ClassVar

from flywheel.errors import FlywheelError


class LLMError(FlywheelError):
    """A model call that could not produce a usable answer."""

    #: Always true: record as an infrastructure error, never as an agent failure.
    infrastructure: ClassVar[bool] = True

    def __init__(self, message: str, *, stage: str, model: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.model = model


class ProviderError(LLMError):
    """The provider kept failing (429, 5xx, timeout, connection) or refused the request."""

    def __init__(
        self,
        message: str,
        *,
        stage: str,
        model: str,
        attempts: int,
        provider_message: str,
        status_code: int | None,
    ) -> None:
        super().__init__(message, stage=stage, model=model)
        self.attempts = attempts
        self.provider_message = provider_message
        self.status_code = status_code


class MalformedResponse(LLMError):
    """The reply was not valid JSON for the schema, even after one repair turn."""

    def __init__(self, message: str, *, stage: str, model: str, reply: str, error: str) -> None:
        super().__init__(message, stage=stage, model=model)
        self.reply = reply
        self.error = error


class BudgetExceeded(FlywheelError):
    """The run's hard budget (calls or dollars) is spent: the run must stop."""

    def __init__(self, message: str, *, stage: str, run_id: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.run_id = run_id
