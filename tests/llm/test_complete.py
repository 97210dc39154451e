"""Plain completions through litellm's real client, and what the ledger records of them."""

from __future__ import annotations

import asyncio

from flywheel.llm import LLMClient
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import TEST_API_KEY, ClientFactory


def test_complete_returns_the_reply_and_sends_the_request(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.reply("the refund policy is 30 days")
    client = llm_client()

    completion = client.complete("triage", [{"role": "user", "content": "what is the policy"}])

    assert completion.content == "the refund policy is 30 days"
    assert not completion.cached
    assert completion.attempts == 1
    (request,) = openai_server.chat_requests
    assert request.body["model"] == "fake-model"
    assert request.body["temperature"] == 0
    assert request.messages == [{"role": "user", "content": "what is the policy"}]
    assert request.headers["Authorization"] == f"Bearer {TEST_API_KEY}"


def test_ledger_counts_tokens_per_stage_and_run(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    client = llm_client(run_id="r-7")
    openai_server.reply("one two three")
    client.complete("judge", [{"role": "user", "content": "score this answer"}])
    openai_server.reply("a b")
    client.complete("judge", [{"role": "user", "content": "and this one"}])
    client.complete("naming", [{"role": "user", "content": "name it"}])

    usage = client.usage()

    assert usage.run_id == "r-7"
    judge = usage.stages["judge"]
    # The fake server counts whitespace-separated words as tokens.
    assert (judge.calls, judge.prompt_tokens, judge.completion_tokens) == (2, 6, 5)
    assert usage.stages["naming"].calls == 1
    assert usage.total.calls == 3
    assert usage.total.latency_s > 0
    # An unknown self-hosted model has no price: counted, not guessed.
    assert usage.total.unpriced_calls == 3
    assert usage.total.cost_usd == 0
    assert client.usage("another-run").total.calls == 0


def test_a_priced_model_has_its_cost_in_the_ledger(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    client = llm_client(model="openai/gpt-4o-mini")
    openai_server.reply("a fairly short answer")

    completion = client.complete("triage", [{"role": "user", "content": "hello there"}])

    assert completion.cost_usd is not None
    assert completion.cost_usd > 0
    assert client.usage().stages["triage"].cost_usd == completion.cost_usd


def test_acomplete_runs_on_an_event_loop(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    client = llm_client()
    openai_server.reply("first")
    openai_server.reply("second")

    async def run(c: LLMClient) -> list[str]:
        a = await c.acomplete("optimizer", [{"role": "user", "content": "q1"}])
        b = await c.acomplete("optimizer", [{"role": "user", "content": "q2"}])
        return [a.content, b.content]

    assert asyncio.run(run(client)) == ["first", "second"]
    assert client.usage().stages["optimizer"].calls == 2
