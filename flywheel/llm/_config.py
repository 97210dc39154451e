"""The ``[llm]`` section of `flywheel.toml`: one model per stage, retries, budget, cache."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The stages that may call a model. Each runs its deterministic offline path when its model
#: is ``None`` (the default), so no stage ever requires a model. (``diagnosis`` writes an
#: opt-in signature part; asking for that part without its model is a configuration error.)
STAGES: tuple[str, ...] = ("triage", "judge", "optimizer", "naming", "embedding", "diagnosis")

#: Model strings that mean "no model: use the offline path".
_OFFLINE = {"", "none", "offline"}


class LLMConfig(BaseModel):
    """How Flywheel reaches LLMs. The API key itself is never stored here, only its variable."""

    model_config = ConfigDict(extra="forbid")

    #: Any litellm model string per stage (``openai/gpt-4o-mini``, ``anthropic/claude-...``,
    #: ``ollama/llama3``), or ``None`` for the stage's offline path. A team may add stages.
    models: dict[str, str | None] = Field(default_factory=lambda: dict.fromkeys(STAGES))
    #: Base URL of an OpenAI-compatible server (a proxy, vLLM, a local gateway).
    api_base: str | None = None
    #: Name of the environment variable holding the API key (e.g. ``OPENAI_API_KEY``). When
    #: unset, litellm reads the provider's usual variable itself.
    api_key_env: str | None = None
    #: Seconds before one request is abandoned (and retried).
    timeout_s: float = Field(default=60.0, gt=0)
    #: Retries after the first attempt on 429, 5xx, timeouts and connection errors.
    max_retries: int = Field(default=3, ge=0)
    #: Exponential backoff: ``min(backoff_max_s, backoff_base_s * 2**attempt)`` with full jitter.
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    #: A provider's Retry-After is honoured up to this many seconds.
    retry_after_max_s: float = Field(default=60.0, ge=0)
    #: Requests in flight at once, per client.
    concurrency: int = Field(default=4, ge=1)
    #: Hard budget per run: provider requests (cache hits are free) and dollars.
    budget_calls: int | None = Field(default=None, ge=0)
    budget_usd: float | None = Field(default=None, ge=0)
    #: Keep every reply keyed by (model, messages, parameters, repeat) so a replay re-runs free.
    cache: bool = True

    @field_validator("models", mode="before")
    @classmethod
    def _with_default_stages(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = dict.fromkeys(STAGES)
        merged.update(value)
        return merged

    @field_validator("models")
    @classmethod
    def _offline_words_mean_none(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        return {
            stage: None if model is None or model.strip().lower() in _OFFLINE else model.strip()
            for stage, model in value.items()
        }

    @model_validator(mode="after")
    def _backoff_ordered(self) -> LLMConfig:
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError("backoff_max_s must be at least backoff_base_s")
        return self
