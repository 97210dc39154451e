"""API keys never reach the cache file, the ledger, logs or error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flywheel.errors import ConfigError
from flywheel.llm import ProviderError, redact
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import TEST_API_KEY, ClientFactory

MESSAGES = [{"role": "user", "content": "hello"}]


def test_key_is_sent_but_never_stored_or_shown(
    openai_server: FakeOpenAIServer,
    llm_client: ClientFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = tmp_path / "store" / "llm.sqlite"
    client = llm_client(store_path=store, max_retries=1)
    client.complete("triage", MESSAGES)
    # This provider quotes the key it received in its error message, as OpenAI does on a 401.
    openai_server.status(500, echo_key=True)
    openai_server.status(401, echo_key=True)

    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        client.complete("triage", [{"role": "user", "content": "again"}])

    assert openai_server.chat_requests[-1].headers["Authorization"] == f"Bearer {TEST_API_KEY}"
    assert "Incorrect API key provided: [REDACTED]" in str(caught.value)
    assert TEST_API_KEY not in str(caught.value)
    assert TEST_API_KEY not in caught.value.provider_message
    assert TEST_API_KEY not in caplog.text
    assert TEST_API_KEY not in client.usage().model_dump_json()
    client.close()
    files = list(store.parent.iterdir())
    assert files
    for path in files:  # the database and any WAL / journal beside it
        assert TEST_API_KEY.encode() not in path.read_bytes(), path.name


def test_missing_key_variable_says_what_to_do(
    llm_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = llm_client(api_key_env="FLYWHEEL_TEST_UNSET_KEY")
    monkeypatch.delenv("FLYWHEEL_TEST_UNSET_KEY", raising=False)

    with pytest.raises(ConfigError, match="export FLYWHEEL_TEST_UNSET_KEY="):
        client.complete("triage", MESSAGES)


def test_redact_hides_named_and_key_shaped_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "plainsecretvalue42")

    text = redact("key plainsecretvalue42, header Bearer abc.def, other sk-live-0123456789abc")

    assert "plainsecretvalue42" not in text
    assert "abc.def" not in text
    assert "sk-live-0123456789abc" not in text
    assert text.count("[REDACTED]") == 3
