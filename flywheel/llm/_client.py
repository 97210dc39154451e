"""`LLMClient`: the one doorway for every model call (cache, budget, retries, ledger)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from flywheel.errors import ConfigError, UserError
from flywheel.llm import _provider, _structured
from flywheel.llm._cache import CachedReply, ResponseCache, cache_key
from flywheel.llm._config import LLMConfig
from flywheel.llm._db import Database
from flywheel.llm._errors import BudgetExceeded, MalformedResponse, ProviderError
from flywheel.llm._ledger import Ledger, LedgerSummary
from flywheel.llm._secrets import redact

T = TypeVar("T", bound=BaseModel)

log = logging.getLogger("flywheel.llm")

Messages = list[dict[str, Any]]


class Completion(BaseModel):
    """One model reply and what it cost."""

    content: str
    stage: str
    model: str
    cached: bool
    prompt_tokens: int
    completion_tokens: int
    #: ``None`` when litellm cannot price the model; 0 for a cache hit.
    cost_usd: float | None
    latency_s: float
    #: Provider requests it took (0 for a cache hit).
    attempts: int


@dataclass(frozen=True)
class _Plan:
    stage: str
    model: str
    messages: Messages
    params: dict[str, Any]
    key: str


class LLMClient:
    """Calls the model configured for a stage, through litellm.

    Every reply is cached by (model, messages, parameters, repeat) when ``config.cache`` is on,
    every request and cache hit is written to the ledger under ``run_id``, and the run's budget
    is checked before each request. Provider failures are retried with backoff; when they
    persist a :class:`ProviderError` is raised, which callers record as an infrastructure
    error. ``store_path`` is the SQLite file of the cache and ledger (in memory when ``None``).

    The concurrency limit applies separately to threads using the sync methods and to each
    event loop using the async ones.
    """

    def __init__(
        self,
        config: LLMConfig | None = None,
        *,
        store_path: Path | None = None,
        run_id: str = "default",
    ) -> None:
        self.config = config or LLMConfig()
        self.run_id = run_id
        self._db = Database(store_path)
        self._cache = ResponseCache(self._db)
        self._ledger = Ledger(self._db)
        self._budget_lock = threading.Lock()
        self._in_flight = 0
        self._thread_slots = threading.BoundedSemaphore(self.config.concurrency)
        self._loop_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._loop_slots = weakref.WeakKeyDictionary()

    # -- configuration ---------------------------------------------------------------------

    def is_configured(self, stage: str) -> bool:
        """Whether ``stage`` has a model; when not, the caller runs its offline path."""
        self._check_stage(stage)
        return self.config.models[stage] is not None

    def model_for(self, stage: str) -> str:
        self._check_stage(stage)
        model = self.config.models[stage]
        if model is None:
            raise ConfigError(
                f"stage '{stage}' has no model; set llm.models.{stage} in flywheel.toml "
                f'(e.g. "openai/gpt-4o-mini") or call is_configured() and use the offline path'
            )
        return model

    def _check_stage(self, stage: str) -> None:
        if stage not in self.config.models:
            valid = ", ".join(sorted(self.config.models))
            raise UserError(f"unknown LLM stage '{stage}'; valid stages: {valid}")

    # -- completions -----------------------------------------------------------------------

    def complete(
        self,
        stage: str,
        messages: Messages,
        *,
        temperature: float = 0.0,
        repeat: int = 0,
        **params: Any,
    ) -> Completion:
        """The model's reply to ``messages``; ``repeat`` > 0 asks again past the cache."""
        plan = self._plan(stage, messages, temperature, repeat, params)
        hit = self._from_cache(plan)
        if hit is not None:
            return hit
        with self._thread_slots:
            for attempt in range(1, self.config.max_retries + 2):
                self._reserve(plan)
                started = time.monotonic()
                try:
                    reply = _provider.complete(self._request(plan))
                except Exception as exc:
                    delay = self._after_failure(plan, exc, attempt, started)
                else:
                    return self._after_success(plan, reply, attempt, started)
                finally:
                    self._release()
                time.sleep(delay)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    async def acomplete(
        self,
        stage: str,
        messages: Messages,
        *,
        temperature: float = 0.0,
        repeat: int = 0,
        **params: Any,
    ) -> Completion:
        """Async :meth:`complete`; at most ``config.concurrency`` requests in flight per loop."""
        plan = self._plan(stage, messages, temperature, repeat, params)
        hit = self._from_cache(plan)
        if hit is not None:
            return hit
        async with self._loop_semaphore():
            for attempt in range(1, self.config.max_retries + 2):
                self._reserve(plan)
                started = time.monotonic()
                try:
                    reply = await _provider.acomplete(self._request(plan))
                except Exception as exc:
                    delay = self._after_failure(plan, exc, attempt, started)
                else:
                    return self._after_success(plan, reply, attempt, started)
                finally:
                    self._release()
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    def structured(
        self,
        stage: str,
        messages: Messages,
        schema: type[T],
        *,
        temperature: float = 0.0,
        repeat: int = 0,
        **params: Any,
    ) -> T:
        """The reply parsed as ``schema``, after at most one repair turn.

        Raises :class:`MalformedResponse` when the repaired reply is still invalid.
        """
        messages, params = self._structured_request(stage, messages, schema, params)
        first = self.complete(stage, messages, temperature=temperature, repeat=repeat, **params)
        try:
            return _structured.parse(first.content, schema)
        except _structured.InvalidReply as error:
            repair = _structured.repair_messages(messages, first.content, error)
        second = self.complete(stage, repair, temperature=temperature, repeat=repeat, **params)
        asked = [self._plan(stage, m, temperature, repeat, params) for m in (messages, repair)]
        return self._parse_repaired(stage, second, schema, asked)

    async def astructured(
        self,
        stage: str,
        messages: Messages,
        schema: type[T],
        *,
        temperature: float = 0.0,
        repeat: int = 0,
        **params: Any,
    ) -> T:
        """Async :meth:`structured`."""
        messages, params = self._structured_request(stage, messages, schema, params)
        first = await self.acomplete(
            stage, messages, temperature=temperature, repeat=repeat, **params
        )
        try:
            return _structured.parse(first.content, schema)
        except _structured.InvalidReply as error:
            repair = _structured.repair_messages(messages, first.content, error)
        second = await self.acomplete(
            stage, repair, temperature=temperature, repeat=repeat, **params
        )
        asked = [self._plan(stage, m, temperature, repeat, params) for m in (messages, repair)]
        return self._parse_repaired(stage, second, schema, asked)

    # -- ledger ----------------------------------------------------------------------------

    def embed(self, texts: Sequence[str], *, stage: str = "embedding") -> list[list[float]]:
        """Embedding vectors of ``texts`` from the stage's model, in order.

        Retried, budgeted and written to the ledger like completions; not cached here (the
        clustering store caches vectors by text).
        """
        plan = _Plan(stage, self.model_for(stage), [], {}, "")
        kwargs: dict[str, Any] = {
            "model": plan.model,
            "input": list(texts),
            "timeout": self.config.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
        }
        if self.config.api_base is not None:
            kwargs["api_base"] = self.config.api_base
        if (key := self._api_key()) is not None:
            kwargs["api_key"] = key
        with self._thread_slots:
            for attempt in range(1, self.config.max_retries + 2):
                self._reserve(plan)
                started = time.monotonic()
                try:
                    vectors, reply = _provider.embed(kwargs)
                except Exception as exc:
                    delay = self._after_failure(plan, exc, attempt, started)
                else:
                    self._ledger.record(
                        run_id=self.run_id,
                        stage=stage,
                        model=plan.model,
                        outcome="ok",
                        prompt_tokens=reply.prompt_tokens,
                        completion_tokens=0,
                        cost_usd=reply.cost_usd,
                        latency_s=time.monotonic() - started,
                    )
                    return vectors
                finally:
                    self._release()
                time.sleep(delay)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    def usage(self, run_id: str | None = None, *, all_runs: bool = False) -> LedgerSummary:
        """Tokens, cost and latency per stage of ``run_id`` (this client's run by default)."""
        return self._ledger.summary(None if all_runs else (run_id or self.run_id))

    def close(self) -> None:
        self._db.close()

    # -- steps shared by the sync and async paths -------------------------------------------

    def _plan(
        self,
        stage: str,
        messages: Messages,
        temperature: float,
        repeat: int,
        params: dict[str, Any],
    ) -> _Plan:
        model = self.model_for(stage)
        for forbidden in ("api_key", "api_base", "model", "stream", "timeout"):
            if forbidden in params:
                raise UserError(
                    f"'{forbidden}' cannot be passed per call; it comes from the [llm] section "
                    "of flywheel.toml"
                )
        params = {**params, "temperature": temperature}
        messages = [dict(m) for m in messages]
        return _Plan(stage, model, messages, params, cache_key(model, messages, params, repeat))

    def _request(self, plan: _Plan) -> dict[str, Any]:
        return _provider.request(
            model=plan.model,
            messages=plan.messages,
            params=plan.params,
            api_base=self.config.api_base,
            api_key=self._api_key(),
            timeout_s=self.config.timeout_s,
        )

    def _api_key(self) -> str | None:
        name = self.config.api_key_env
        if name is None:
            return None
        key = os.environ.get(name)
        if not key:
            raise ConfigError(
                f"llm.api_key_env names the environment variable {name}, which is not set; "
                f"export {name}=<your key> or remove llm.api_key_env from flywheel.toml"
            )
        return key

    def _secrets(self) -> tuple[str, ...]:
        name = self.config.api_key_env
        key = os.environ.get(name) if name else None
        return (key,) if key else ()

    def _from_cache(self, plan: _Plan) -> Completion | None:
        if not self.config.cache:
            return None
        hit = self._cache.get(plan.key)
        if hit is None:
            return None
        self._ledger.record(
            run_id=self.run_id,
            stage=plan.stage,
            model=plan.model,
            outcome="cached",
            prompt_tokens=hit.prompt_tokens,
            completion_tokens=hit.completion_tokens,
        )
        return Completion(
            content=hit.content,
            stage=plan.stage,
            model=plan.model,
            cached=True,
            prompt_tokens=hit.prompt_tokens,
            completion_tokens=hit.completion_tokens,
            cost_usd=0.0,
            latency_s=0.0,
            attempts=0,
        )

    def _reserve(self, plan: _Plan) -> None:
        """Count a request against the run's budget, or stop the run."""
        with self._budget_lock:
            calls, dollars = self._ledger.spent(self.run_id)
            budget_calls, budget_usd = self.config.budget_calls, self.config.budget_usd
            where = f"in stage '{plan.stage}' (run {self.run_id})"
            if budget_calls is not None and calls + self._in_flight >= budget_calls:
                raise BudgetExceeded(
                    f"LLM budget of {budget_calls} calls reached {where}; raise "
                    "llm.budget_calls in flywheel.toml or pass --budget",
                    stage=plan.stage,
                    run_id=self.run_id,
                )
            if budget_usd is not None and dollars >= budget_usd:
                raise BudgetExceeded(
                    f"LLM budget of ${budget_usd:.2f} reached {where} (spent ${dollars:.4f}); "
                    "raise llm.budget_usd in flywheel.toml or pass --budget",
                    stage=plan.stage,
                    run_id=self.run_id,
                )
            self._in_flight += 1

    def _release(self) -> None:
        with self._budget_lock:
            self._in_flight -= 1

    def _after_success(
        self, plan: _Plan, reply: _provider.Reply, attempt: int, started: float
    ) -> Completion:
        latency = time.monotonic() - started
        self._ledger.record(
            run_id=self.run_id,
            stage=plan.stage,
            model=plan.model,
            outcome="ok",
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cost_usd=reply.cost_usd,
            latency_s=latency,
        )
        if self.config.cache:
            cached = CachedReply(
                content=reply.content,
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                cost_usd=reply.cost_usd,
            )
            self._cache.put(plan.key, plan.model, cached)
        return Completion(
            content=reply.content,
            stage=plan.stage,
            model=plan.model,
            cached=False,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cost_usd=reply.cost_usd,
            latency_s=latency,
            attempts=attempt,
        )

    def _after_failure(self, plan: _Plan, exc: Exception, attempt: int, started: float) -> float:
        """Record a failed request; the seconds to wait before the next, or raise."""
        failure = _provider.classify(exc)
        if failure is None:
            raise exc  # a bug, not a provider failure
        message = redact(failure.message, self._secrets())
        self._ledger.record(
            run_id=self.run_id,
            stage=plan.stage,
            model=plan.model,
            outcome="failed",
            latency_s=time.monotonic() - started,
            error=message,
        )
        if not failure.retryable or attempt > self.config.max_retries:
            verb = "kept failing" if failure.retryable else "refused the request"
            raise ProviderError(
                f"LLM provider {verb} in stage '{plan.stage}' (model {plan.model}, "
                f"{attempt} attempt(s)): {message}. This is an infrastructure error, not an "
                f"agent failure; check the provider, llm.models.{plan.stage} and llm.api_base, "
                "or raise llm.timeout_s / llm.max_retries in flywheel.toml",
                stage=plan.stage,
                model=plan.model,
                attempts=attempt,
                provider_message=message,
                status_code=failure.status_code,
            ) from None
        delay = self._backoff(attempt, failure.retry_after_s)
        log.warning(
            "LLM %s attempt %d failed (%s); retrying in %.1fs",
            plan.stage,
            attempt,
            message,
            delay,
        )
        return delay

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(retry_after_s, self.config.retry_after_max_s)
        ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _loop_semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slots = self._loop_slots.get(loop)
        if slots is None:
            slots = self._loop_slots[loop] = asyncio.Semaphore(self.config.concurrency)
        return slots

    def _structured_request(
        self, stage: str, messages: Messages, schema: type[BaseModel], params: dict[str, Any]
    ) -> tuple[Messages, dict[str, Any]]:
        model = self.model_for(stage)
        if "response_format" not in params and _provider.supports_json_mode(model):
            params = {**params, "response_format": {"type": "json_object"}}
        return _structured.with_schema_instruction(messages, schema), params

    def _parse_repaired(
        self, stage: str, reply: Completion, schema: type[T], asked: Sequence[_Plan]
    ) -> T:
        try:
            return _structured.parse(reply.content, schema)
        except _structured.InvalidReply as error:
            for plan in asked:  # a cached bad reply would make every later attempt fail alike
                self._cache.forget(plan.key)
            raise MalformedResponse(
                f"the model {reply.model} (stage '{stage}') gave invalid JSON for "
                f"{schema.__name__} even after a repair turn: {error}. This is an "
                f"infrastructure error, not an agent failure; try a stronger model for "
                f"llm.models.{stage}",
                stage=stage,
                model=reply.model,
                reply=reply.content[:2000],
                error=str(error),
            ) from None
