"""Engines and migrations: SQLite (WAL) by default, PostgreSQL by URL; schema by Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from flywheel.errors import DatabaseUnavailable, UserError
from flywheel.private import private_dir, private_sqlite

MIGRATIONS = Path(__file__).parent / "migrations"


def resolve_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path relative to the project folder, and create its folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            path = base_dir / path
        private_dir(path.parent)
        parsed = parsed.set(database=str(path))
    elif parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_store_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise UserError(f"invalid database URL '{url}': {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:" and "mode=memory" not in url:
                private_sqlite(Path(parsed.database))
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise UserError(
            f"cannot use database URL '{safe_url(url)}': {one_line(exc)} "
            "(Flywheel supports sqlite:/// and postgresql+psycopg://)"
        ) from None


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def one_line(exc: BaseException) -> str:
    """An exception as one line: the driver's own message for a database error."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return " ".join(str(inner).split()) or type(inner).__name__


def unavailable(url: str, exc: DBAPIError) -> DatabaseUnavailable:
    """The one-line error for a database that cannot be reached or opened."""
    return DatabaseUnavailable(
        f"cannot open the database {safe_url(url)}: {one_line(exc)} "
        "(check database_url in flywheel.toml or FLYWHEEL_DATABASE_URL)"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migrations (idempotent; "heads": features may branch)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def is_migrated(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
