"""The hard budget stops a run with a message that says how to raise it."""

from __future__ import annotations

import pytest

from flywheel.llm import BudgetExceeded
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory


def ask(n: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"question {n}"}]


def test_budget_of_calls_stops_the_run(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    client = llm_client(budget_calls=3, run_id="r-3")
    for n in range(3):
        client.complete("triage", ask(n))

    with pytest.raises(BudgetExceeded) as caught:
        client.complete("triage", ask(3))

    assert str(caught.value) == (
        "LLM budget of 3 calls reached in stage 'triage' (run r-3); "
        "raise llm.budget_calls in flywheel.toml or pass --budget"
    )
    assert len(openai_server.chat_requests) == 3
    # Cache hits are free, and another run has its own budget.
    assert client.complete("triage", ask(0)).cached
    client.run_id = "r-4"
    client.complete("triage", ask(3))
    assert len(openai_server.chat_requests) == 4


def test_failed_attempts_count_against_the_budget(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.status(500)
    openai_server.status(500)
    client = llm_client(budget_calls=2, max_retries=5)

    with pytest.raises(BudgetExceeded):
        client.complete("judge", ask(0))

    assert len(openai_server.chat_requests) == 2


def test_budget_in_dollars(openai_server: FakeOpenAIServer, llm_client: ClientFactory) -> None:
    client = llm_client(model="openai/gpt-4o-mini", budget_usd=0.000001)
    openai_server.reply(" ".join(["word"] * 50))
    client.complete("optimizer", ask(0))

    with pytest.raises(BudgetExceeded, match=r"LLM budget of \$0\.00 reached in stage 'optimizer'"):
        client.complete("optimizer", ask(1))

    assert len(openai_server.chat_requests) == 1
