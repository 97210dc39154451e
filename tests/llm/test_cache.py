"""The response cache: identical requests are answered without a call, across clients."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory

MESSAGES = [{"role": "user", "content": "summarise the cluster"}]


def test_second_identical_call_is_a_cache_hit_without_a_request(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.reply("first answer")
    openai_server.reply("second answer")
    client = llm_client()

    first = client.complete("naming", MESSAGES)
    again = client.complete("naming", MESSAGES)

    assert (first.content, again.content) == ("first answer", "first answer")
    assert again.cached
    assert again.cost_usd == 0
    assert again.attempts == 0
    assert len(openai_server.chat_requests) == 1
    usage = client.usage().stages["naming"]
    assert (usage.calls, usage.cached_calls) == (1, 1)


def test_repeat_index_and_parameters_are_part_of_the_key(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.reply("repeat 0")
    openai_server.reply("repeat 1")
    openai_server.reply("warmer")
    client = llm_client()

    assert client.complete("judge", MESSAGES).content == "repeat 0"
    assert client.complete("judge", MESSAGES, repeat=1).content == "repeat 1"
    assert client.complete("judge", MESSAGES, temperature=0.7).content == "warmer"
    assert client.complete("judge", MESSAGES, repeat=1).cached
    assert len(openai_server.chat_requests) == 3


def test_a_replay_rerun_is_free_with_a_new_client_on_the_same_file(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory, tmp_path: Path
) -> None:
    store = tmp_path / "shared.sqlite"
    openai_server.reply("stored")
    llm_client(store_path=store, run_id="r-1").complete("triage", MESSAGES)

    rerun = llm_client(store_path=store, run_id="r-2")
    completion = rerun.complete("triage", MESSAGES)

    assert completion.cached
    assert completion.content == "stored"
    assert len(openai_server.chat_requests) == 1
    assert rerun.usage().total.calls == 0
    assert rerun.usage().total.cached_calls == 1


def test_cache_off_always_calls(openai_server: FakeOpenAIServer, llm_client: ClientFactory) -> None:
    client = llm_client(cache=False)

    client.complete("triage", MESSAGES)
    completion = client.complete("triage", MESSAGES)

    assert not completion.cached
    assert len(openai_server.chat_requests) == 2
