"""The only module that imports litellm: one request out, one :class:`Reply` or failure back.

litellm is imported lazily (it costs seconds) and never retries by itself here
(``num_retries=0`` and ``max_retries=0`` for the OpenAI SDK underneath): the client's own loop
retries, so the ledger sees every attempt and Retry-After is honoured.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class Reply:
    content: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


@dataclass(frozen=True)
class Failure:
    """A provider error, classified. ``message`` may still hold a secret: redact before use."""

    retryable: bool
    message: str
    status_code: int | None
    retry_after_s: float | None


@cache
def _workers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=32, thread_name_prefix="flywheel-llm")


@cache
def _litellm() -> Any:
    # Without this litellm fetches its price list from the internet at import time.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback" banners on stdout
    return litellm


def request(
    *,
    model: str,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    api_base: str | None,
    api_key: str | None,
    timeout_s: float,
) -> dict[str, Any]:
    """The keyword arguments of one litellm completion call."""
    kwargs: dict[str, Any] = {
        **params,
        "model": model,
        "messages": messages,
        "timeout": timeout_s,
        "num_retries": 0,
        "max_retries": 0,
        "drop_params": True,
    }
    if api_base is not None:
        kwargs["api_base"] = api_base
    if api_key is not None:
        kwargs["api_key"] = api_key
    return kwargs


def complete(kwargs: dict[str, Any]) -> Reply:
    """A blocking completion, run on a worker thread.

    litellm's sync path calls ``asyncio.get_event_loop()``, which in the main thread silently
    creates an event loop that nobody closes (a ResourceWarning once ``asyncio.run`` replaces
    it). On a worker thread that call finds no loop and litellm cleans up after itself.
    """
    litellm = _litellm()
    return _workers().submit(lambda: _to_reply(litellm, litellm.completion(**kwargs))).result()


async def acomplete(kwargs: dict[str, Any]) -> Reply:
    litellm = _litellm()
    return _to_reply(litellm, await litellm.acompletion(**kwargs))


def embed(kwargs: dict[str, Any]) -> tuple[list[list[float]], Reply]:
    """Vectors for ``kwargs["input"]`` (in order) and the call's usage, on a worker thread."""
    litellm = _litellm()

    def call() -> tuple[list[list[float]], Reply]:
        response = litellm.embedding(**kwargs)
        rows = sorted(response.data, key=lambda item: _field(item, "index"))
        usage = getattr(response, "usage", None)
        try:
            cost: float | None = float(litellm.completion_cost(completion_response=response))
        except Exception:  # litellm cannot price an unknown or self-hosted model
            cost = None
        tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        vectors = [list(map(float, _field(row, "embedding"))) for row in rows]
        return vectors, Reply(content="", prompt_tokens=tokens, completion_tokens=0, cost_usd=cost)

    return _workers().submit(call).result()


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def supports_json_mode(model: str) -> bool:
    """Whether the provider takes ``response_format={"type": "json_object"}``."""
    try:
        supported = _litellm().get_supported_openai_params(model=model)
    except Exception:  # an unknown provider: ask for JSON in the prompt only
        return False
    return bool(supported) and "response_format" in supported


def _to_reply(litellm: Any, response: Any) -> Reply:
    content = response.choices[0].message.content or ""
    usage = getattr(response, "usage", None)
    try:
        cost: float | None = float(litellm.completion_cost(completion_response=response))
    except Exception:  # litellm cannot price an unknown or self-hosted model
        cost = None
    return Reply(
        content=content,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=cost,
    )


def classify(exc: BaseException) -> Failure | None:
    """What a raised exception means, or ``None`` when it is not a provider error (a bug)."""
    import openai  # litellm's errors subclass the OpenAI SDK's

    litellm = _litellm()
    if not isinstance(exc, openai.OpenAIError):
        return None
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    retryable = isinstance(
        exc,
        litellm.RateLimitError
        | litellm.Timeout
        | litellm.APIConnectionError
        | litellm.InternalServerError
        | litellm.ServiceUnavailableError
        | litellm.BadGatewayError,
    ) or (status is not None and (status >= 500 or status in _RETRYABLE_STATUS))
    message = str(getattr(exc, "message", None) or exc)
    return Failure(retryable, message, status, _retry_after(exc))


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (``Retry-After``: seconds or an HTTP date)."""
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if not headers:
            continue
        value = {str(k).lower(): v for k, v in headers.items()}.get("retry-after")
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            continue
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None
