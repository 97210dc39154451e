"""Shared fixtures: a store on every backend (SQLite always, PostgreSQL when the server is up),
a loopback OpenAI-compatible server and LLM clients pointed at it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from flywheel.llm import STAGES, LLMClient, LLMConfig
from flywheel.project import Project, init_project
from flywheel.store import Store
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import TEST_API_KEY, TEST_KEY_ENV, ClientFactory

SHARED_DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def _postgres_database() -> Iterator[str]:
    base = os.environ.get("FLYWHEEL_TEST_POSTGRES_URL")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test PostgreSQL: FLYWHEEL_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not available (run `bash .ci/postgres.sh start`)")
    import psycopg

    url = make_url(base)
    name = f"fw_{uuid.uuid4().hex[:16]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/flywheel.db"
    else:
        yield from _postgres_database()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.close()


@pytest.fixture
def project(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project folder (flywheel.toml) whose database is ``db_url``; commands run inside it."""
    monkeypatch.setenv("FLYWHEEL_DATABASE_URL", db_url)
    monkeypatch.delenv("FLYWHEEL_PROJECT", raising=False)
    root = tmp_path / "project"
    created, _ = init_project(root)
    monkeypatch.chdir(root)
    return created


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
