"""`embedding_model = "llm"`: signatures embedded by a litellm model, through the loopback fake."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flywheel.clustering import run_clustering
from flywheel.config import ClusteringConfig
from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import EmbeddingRow
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory
from tests.helpers.traffic import WEEK1, Ingest

THREE = ["tool_timeout", "answered_from_memory", "needless_clarification"]
CONFIG = ClusteringConfig(embedding_model="llm")


def _embedding_calls(server: FakeOpenAIServer) -> list[list[str]]:
    return [r.body["input"] for r in server.requests if r.path.endswith("/embeddings")]


def test_signatures_are_embedded_once_by_the_llm_model(
    store: Store, add_traffic: Ingest, llm_client: ClientFactory, openai_server: FakeOpenAIServer
) -> None:
    add_traffic(THREE, 8, WEEK1, "w1")
    client = llm_client()
    first = run_clustering(store, CONFIG, llm=client, full=True)
    calls = _embedding_calls(openai_server)
    sent = [text for call in calls for text in call]
    assert first.traces == 24
    assert len(sent) == len(set(sent)) == first.embedding["embedded"] > 0  # distinct texts only
    with store.engine.connect() as conn:
        models = set(conn.execute(select(EmbeddingRow.model)).scalars())
    assert models == {"llm:openai/fake-model"}  # never mixed with MiniLM's vectors
    again = run_clustering(store, CONFIG, llm=client, full=True)
    assert again.embedding["embedded"] == 0
    assert _embedding_calls(openai_server) == calls
    usage = client.usage().stages["embedding"]
    assert usage.calls == len(calls)
    assert usage.prompt_tokens > 0


def test_a_rate_limited_embedding_call_is_retried(
    store: Store, add_traffic: Ingest, llm_client: ClientFactory, openai_server: FakeOpenAIServer
) -> None:
    add_traffic(THREE, 4, WEEK1, "w1")
    openai_server.status(429)
    result = run_clustering(store, CONFIG, llm=llm_client(), full=True)
    calls = _embedding_calls(openai_server)
    assert len(calls) == 2
    assert calls[0] == calls[1]
    assert result.traces == 12


def test_llm_embedding_without_a_model_says_how_to_fix(
    store: Store, add_traffic: Ingest, llm_client: ClientFactory
) -> None:
    add_traffic(THREE, 2, WEEK1, "w1")
    with pytest.raises(UserError, match=r"models\.embedding.*text-embedding-3-small"):
        run_clustering(store, CONFIG)
    unconfigured = llm_client(models={"embedding": None})
    with pytest.raises(UserError, match=r"models\.embedding"):
        run_clustering(store, CONFIG, llm=unconfigured)
