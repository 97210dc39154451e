"""What the LLM tests share with the loopback fixtures (``openai_server``, ``llm_client``)."""

from __future__ import annotations

from collections.abc import Callable

from flywheel.llm import LLMClient

#: The key the clients send; tests assert it never leaks into files, ledgers or errors.
TEST_API_KEY = "sk-test-4f9c2a7e1b8d6035"


TEST_KEY_ENV = "FLYWHEEL_TEST_LLM_API_KEY"


ClientFactory = Callable[..., LLMClient]
