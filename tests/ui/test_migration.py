"""Migration 0006 creates exactly the tables `ui.approvals.tables` declares, on every backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from flywheel.store import Store
from flywheel.store._tables import Base
from ui.approvals.tables import UI_TABLES


def test_migration_matches_the_ui_models(store: Store) -> None:
    def only_ui(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table":
            return name in UI_TABLES
        table = getattr(obj, "table", None)
        return table is None or table.name in UI_TABLES

    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": only_ui}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    tables = {t for t in Base.metadata.tables if t in UI_TABLES}
    assert tables == set(UI_TABLES)
