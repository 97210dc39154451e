"""Provider failures: retried with backoff, Retry-After honoured, then an infrastructure error."""

from __future__ import annotations

import logging

import pytest

from flywheel.llm import ProviderError
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory

MESSAGES = [{"role": "user", "content": "hello"}]


def test_429_waits_for_retry_after_then_succeeds(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.status(429, retry_after=1)
    openai_server.reply("after the wait")
    client = llm_client()  # backoff alone would wait at most 0.05 s

    completion = client.complete("triage", MESSAGES)

    assert completion.content == "after the wait"
    assert completion.attempts == 2
    limited, retried = openai_server.chat_requests
    assert retried.received_at - limited.received_at >= 0.95
    usage = client.usage().stages["triage"]
    assert (usage.calls, usage.failed_calls) == (2, 1)


def test_retry_after_is_capped_by_config(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.status(429, retry_after=30)
    openai_server.reply("soon")

    completion = llm_client(retry_after_max_s=0.1).complete("triage", MESSAGES)

    assert completion.content == "soon"
    limited, retried = openai_server.chat_requests
    assert retried.received_at - limited.received_at < 5


def test_500_twice_then_success(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.status(500)
    openai_server.status(503)
    openai_server.reply("third time lucky")
    client = llm_client(max_retries=2)

    with caplog.at_level(logging.WARNING, logger="flywheel.llm"):
        completion = client.complete("judge", MESSAGES)

    assert completion.content == "third time lucky"
    assert completion.attempts == 3
    assert len(openai_server.chat_requests) == 3
    usage = client.usage().stages["judge"]
    assert (usage.calls, usage.failed_calls) == (3, 2)
    assert caplog.text.count("retrying in") == 2


def test_persistent_5xx_is_a_provider_error_with_the_provider_message(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    for _ in range(3):
        openai_server.status(502)

    with pytest.raises(ProviderError) as caught:
        llm_client(max_retries=2).complete("naming", MESSAGES)

    error = caught.value
    assert error.infrastructure
    assert (error.stage, error.model, error.attempts, error.status_code) == (
        "naming",
        "openai/fake-model",
        3,
        502,
    )
    assert "scripted status 502" in str(error)  # the provider's own words
    assert "stage 'naming'" in str(error)
    assert "openai/fake-model" in str(error)


def test_hang_past_the_timeout_is_retried_then_an_infrastructure_error(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.hang(10)
    openai_server.hang(10)
    openai_server.reply("too late")
    client = llm_client(timeout_s=0.5, max_retries=1)

    with pytest.raises(ProviderError) as caught:
        client.complete("triage", MESSAGES)

    assert caught.value.infrastructure
    assert caught.value.attempts == 2
    assert "timed out" in str(caught.value).lower()
    assert len(openai_server.chat_requests) == 2
    assert openai_server.pending_actions == 1
    assert client.usage().stages["triage"].failed_calls == 2


def test_a_refused_request_is_not_retried(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.status(400)
    openai_server.reply("never asked for")

    with pytest.raises(ProviderError) as caught:
        llm_client().complete("triage", MESSAGES)

    assert caught.value.attempts == 1
    assert caught.value.status_code == 400
    assert "refused" in str(caught.value)
    assert len(openai_server.chat_requests) == 1
