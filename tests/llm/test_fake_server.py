"""The loopback server's own contract, for tests elsewhere that reuse it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAIServer


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        payload: dict[str, Any] = json.loads(response.read())
    return payload


def test_embeddings_are_deterministic_unit_vectors(openai_server: FakeOpenAIServer) -> None:
    url = f"{openai_server.base_url}/embeddings"

    first = post(url, {"model": "e", "input": ["alpha", "beta"]})
    again = post(url, {"model": "e", "input": "alpha"})

    alpha, beta = (item["embedding"] for item in first["data"])
    assert alpha == again["data"][0]["embedding"]
    assert alpha != beta
    assert sum(x * x for x in alpha) == pytest.approx(1.0)


def test_chat_without_v1_prefix_and_default_reply(openai_server: FakeOpenAIServer) -> None:
    openai_server.default_reply = "fallback"
    url = f"http://127.0.0.1:{openai_server.port}/chat/completions"

    body = post(url, {"model": "m", "messages": [{"role": "user", "content": "a b c"}]})

    assert body["choices"][0]["message"]["content"] == "fallback"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert openai_server.requests[0].path == "/chat/completions"


def test_scripted_status_carries_retry_after(openai_server: FakeOpenAIServer) -> None:
    openai_server.status(429, retry_after=2)

    with pytest.raises(urllib.error.HTTPError) as caught:
        post(f"{openai_server.base_url}/chat/completions", {"model": "m", "messages": []})

    assert caught.value.code == 429
    assert caught.value.headers["Retry-After"] == "2"
    caught.value.close()
