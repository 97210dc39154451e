"""The concurrency limit holds for async callers and for threads."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from flywheel.llm import Completion, LLMClient
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory


def ask(n: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"question {n}"}]


def test_async_requests_in_flight_never_exceed_the_limit(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.reply_delay_s = 0.2
    client = llm_client(concurrency=2)

    async def run(c: LLMClient) -> list[Completion]:
        return await asyncio.gather(*(c.acomplete("judge", ask(n)) for n in range(6)))

    completions = asyncio.run(run(client))

    assert len(completions) == 6
    assert openai_server.max_in_flight == 2  # the limit, and reached: requests did overlap


def test_threads_share_the_limit(
    openai_server: FakeOpenAIServer, llm_client: ClientFactory
) -> None:
    openai_server.reply_delay_s = 0.2
    client = llm_client(concurrency=3)

    with ThreadPoolExecutor(max_workers=8) as pool:
        completions = list(pool.map(lambda n: client.complete("judge", ask(n)), range(8)))

    assert len(completions) == 8
    assert openai_server.max_in_flight == 3
