"""Structured output: JSON parsed into pydantic models, with exactly one repair turn."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from pydantic import BaseModel

from flywheel.llm import MalformedResponse
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory


class Verdict(BaseModel):
    category: Literal["prompt_instruction", "retrieval_ranking"]
    confidence: float


MESSAGES = [{"role": "user", "content": "classify this failure"}]


def test_structured_parses_the_reply_and_asks_for_json(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.reply_json({"category": "retrieval_ranking", "confidence": 0.8})

    verdict = llm_client().structured("triage", MESSAGES, Verdict)

    assert verdict == Verdict(category="retrieval_ranking", confidence=0.8)
    (request,) = openai_server.chat_requests
    assert request.body["response_format"] == {"type": "json_object"}
    system = request.messages[0]
    assert system["role"] == "system"
    assert '"confidence"' in system["content"]  # the JSON schema is in the prompt
    assert request.messages[1:] == MESSAGES


def test_a_fenced_json_reply_is_accepted(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.reply('```json\n{"category": "prompt_instruction", "confidence": 1}\n```')

    verdict = llm_client().structured("triage", MESSAGES, Verdict)

    assert verdict.category == "prompt_instruction"
    assert len(openai_server.chat_requests) == 1


def test_malformed_json_is_repaired_with_one_turn_carrying_the_error(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.malformed('{"category": "prompt_instruction", "confid')
    openai_server.reply_json({"category": "prompt_instruction", "confidence": 0.6})

    verdict = llm_client().structured("triage", MESSAGES, Verdict)

    assert verdict.confidence == 0.6
    first, repair = openai_server.chat_requests
    assert repair.messages[: len(first.messages)] == first.messages
    bad_reply, correction = repair.messages[len(first.messages) :]
    assert bad_reply == {
        "role": "assistant",
        "content": '{"category": "prompt_instruction", "confid',
    }
    assert correction["role"] == "user"
    assert "Invalid JSON" in correction["content"]


def test_a_schema_violation_names_the_field_in_the_repair_turn(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.reply_json({"category": "vibes", "confidence": 0.6})
    openai_server.reply_json({"category": "retrieval_ranking", "confidence": 0.6})

    verdict = llm_client().structured("triage", MESSAGES, Verdict)

    assert verdict.category == "retrieval_ranking"
    correction = openai_server.chat_requests[1].messages[-1]["content"]
    assert "category" in correction
    assert "prompt_instruction" in correction  # pydantic lists the allowed values


def test_malformed_twice_raises_an_infrastructure_error(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.malformed("not json at all")
    openai_server.malformed("still not json")
    openai_server.reply_json({"category": "prompt_instruction", "confidence": 1})  # never read

    with pytest.raises(MalformedResponse) as caught:
        llm_client().structured("judge", MESSAGES, Verdict)

    assert caught.value.infrastructure
    assert caught.value.stage == "judge"
    assert caught.value.reply == "still not json"
    assert "Verdict" in str(caught.value)
    assert "llm.models.judge" in str(caught.value)
    assert len(openai_server.chat_requests) == 2


def test_a_reply_that_stayed_malformed_is_not_replayed_from_the_cache(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.malformed("not json at all")
    openai_server.malformed("still not json")
    openai_server.reply_json({"category": "prompt_instruction", "confidence": 1})
    client = llm_client()
    with pytest.raises(MalformedResponse):
        client.structured("judge", MESSAGES, Verdict)

    verdict = asyncio.run(client.astructured("judge", MESSAGES, Verdict))  # asked again

    assert verdict.category == "prompt_instruction"
    assert len(openai_server.chat_requests) == 3
    assert client.structured("judge", MESSAGES, Verdict) == verdict  # a good reply is kept
    assert len(openai_server.chat_requests) == 3


def test_astructured_repairs_too(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.malformed("{")
    openai_server.reply_json({"category": "prompt_instruction", "confidence": 0.9})
    client = llm_client()

    verdict = asyncio.run(client.astructured("naming", MESSAGES, Verdict))

    assert verdict.confidence == 0.9
    assert len(openai_server.chat_requests) == 2
