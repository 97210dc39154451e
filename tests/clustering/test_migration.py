"""Migration 0002 creates exactly the schema the models declare, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from flywheel.store import Store
from flywheel.store._tables import Base

CLUSTER_TABLES = {"embedding_cache", "cluster_runs", "clusters", "cluster_members"}


def _ours(_object: object, name: str | None, type_: str, *_args: object) -> bool:
    """Compare the clustering tables only: other packages' migrations own the rest."""
    return type_ != "table" or name in CLUSTER_TABLES


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _ours}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert set(inspect(store.engine).get_table_names()) >= CLUSTER_TABLES
