"""Shared fixtures: a store on every backend (SQLite always, PostgreSQL when the server is up)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from flywheel.project import Project, init_project
from flywheel.store import Store

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


@pytest.fixture(params=["sqlite", "postgres"])
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
