"""Fixtures: a loopback OpenAI-compatible server and LLM clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flywheel.llm import STAGES, LLMClient, LLMConfig
from tests.fakes.openai_server import FakeOpenAIServer

#: The key the clients send; tests assert it never leaks into files, ledgers or errors.
TEST_API_KEY = "sk-test-4f9c2a7e1b8d6035"
TEST_KEY_ENV = "FLYWHEEL_TEST_LLM_API_KEY"

ClientFactory = Callable[..., LLMClient]


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A started loopback server; script it with ``reply``, ``status``, ``hang``..."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def llm_client(
    openai_server: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ClientFactory]:
    """Build clients whose every stage calls ``openai/fake-model`` on the loopback server.

    Keyword arguments override :class:`LLMConfig` fields (``model=`` sets every stage's model);
    ``store_path`` and ``run_id`` go to the client. Short timeouts and backoff keep tests quick.
    """
    monkeypatch.setenv(TEST_KEY_ENV, TEST_API_KEY)
    clients: list[LLMClient] = []

    def make(
        *,
        model: str = "openai/fake-model",
        store_path: Path | None = None,
        run_id: str = "r-1",
        **overrides: Any,
    ) -> LLMClient:
        fields: dict[str, Any] = {
            "models": dict.fromkeys(STAGES, model),
            "api_base": openai_server.base_url,
            "api_key_env": TEST_KEY_ENV,
            "timeout_s": 2.0,
            "max_retries": 2,
            "backoff_base_s": 0.01,
            "backoff_max_s": 0.05,
            **overrides,
        }
        client = LLMClient(
            LLMConfig(**fields),
            store_path=store_path or tmp_path / "llm.sqlite",
            run_id=run_id,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
