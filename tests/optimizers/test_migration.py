"""Migration 0004 creates exactly the optimizer tables its models declare, on every backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from flywheel.store import Store
from flywheel.store._tables import Base
from optimizers._tables import OPTIMIZER_TABLES


def _ours(obj: Any, name: str | None, kind: str, _reflected: bool, _other: Any) -> bool:
    table = name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in OPTIMIZER_TABLES


def test_migration_matches_the_optimizer_models(store: Store) -> None:
    assert set(OPTIMIZER_TABLES) <= set(inspect(store.engine).get_table_names())
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                # Only our tables: other features' migrations are checked by their own tests.
                "include_object": _ours,
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
