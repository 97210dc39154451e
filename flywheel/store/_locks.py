"""`run_lock`: one writer at a time (nightly, ingest), held as a row in the database.

A lock is a row of ``run_locks`` keyed by its name; taking it is an INSERT, which the primary
key makes atomic on SQLite and PostgreSQL alike, so two processes on two machines sharing one
PostgreSQL also exclude each other. The holder writes its pid and host and refreshes a
heartbeat from a background thread. A lock is stale, and taken over, when its holder is a
process of this host that no longer exists (``kill -9``), or when its heartbeat is older than
``stale_after`` seconds (a holder on another host that died, or hangs). The takeover deletes
the row only if it still carries the stale holder's token, so two waiters never both win.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Integer, String, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from flywheel.errors import UserError
from flywheel.store._store import Store
from flywheel.store._tables import Base, utcnow

#: The lock the commands that write the pipeline's data share (nightly, ingest).
PIPELINE_LOCK = "pipeline"
DEFAULT_STALE_AFTER = 120.0
DEFAULT_HEARTBEAT = 10.0


class RunLockRow(Base):
    """A held lock: who holds it (pid, host, command) and when it last said it was alive."""

    __tablename__ = "run_locks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    command: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class LockHeld(UserError):
    """Another live process holds the lock (the message names it and says what to do)."""


_held: dict[tuple[int, str], int] = {}  # (engine id, lock name) -> nesting depth, this process
_held_guard = threading.Lock()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def is_stale(row: RunLockRow, *, stale_after: float, host: str | None = None) -> bool:
    """True when the holder is gone: a dead pid on this host, or a heartbeat too old."""
    if row.host == (host or socket.gethostname()) and not _pid_alive(row.pid):
        return True
    age = (datetime.now(UTC) - _utc(row.heartbeat_at)).total_seconds()
    return age > stale_after


def _holder(store: Store, name: str) -> RunLockRow | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(RunLockRow).where(RunLockRow.name == name)).first()
    return None if row is None else RunLockRow(**row._asdict())


def _describe(row: RunLockRow) -> str:
    since = _utc(row.acquired_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"`{row.command}` (pid {row.pid} on {row.host}, since {since})"


@contextmanager
def run_lock(
    store: Store,
    *,
    command: str,
    name: str = PIPELINE_LOCK,
    wait: float = 0.0,
    stale_after: float = DEFAULT_STALE_AFTER,
    heartbeat: float = DEFAULT_HEARTBEAT,
) -> Iterator[None]:
    """Hold lock ``name`` for the block; wait up to ``wait`` seconds for it, else `LockHeld`.

    Re-entrant within a process (a nightly run's ingest stage does not wait for itself).
    """
    key = (id(store.engine), name)
    with _held_guard:
        if _held.get(key, 0) > 0:
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    token = secrets.token_hex(16)
    _acquire(store, name, token, command, wait, stale_after)
    with _held_guard:
        _held[key] = 1
    stop = threading.Event()
    beat = threading.Thread(
        target=_beat, args=(store, name, token, heartbeat, stop), daemon=True, name="run-lock"
    )
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        with _held_guard:
            _held.pop(key, None)
        with store.engine.begin() as conn:
            conn.execute(
                delete(RunLockRow).where(RunLockRow.name == name, RunLockRow.token == token)
            )


def _acquire(
    store: Store, name: str, token: str, command: str, wait: float, stale_after: float
) -> None:
    deadline = time.monotonic() + max(0.0, wait)
    host = socket.gethostname()
    while True:
        now = utcnow()
        try:
            with store.engine.begin() as conn:
                conn.execute(
                    insert(RunLockRow).values(
                        name=name,
                        token=token,
                        pid=os.getpid(),
                        host=host[:255],
                        command=command[:200],
                        acquired_at=now,
                        heartbeat_at=now,
                    )
                )
            return
        except IntegrityError:
            pass
        except OperationalError as exc:
            # SQLite: the holder's own long write transaction outlasted the busy timeout. The
            # lock is busy, not broken: keep waiting like any waiter, until the deadline.
            if not _sqlite_busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(min(0.5, max(0.05, deadline - time.monotonic())))
            continue
        holder = _holder(store, name)
        if holder is None:  # released meanwhile
            continue
        if is_stale(holder, stale_after=stale_after, host=host):
            with store.engine.begin() as conn:
                conn.execute(
                    delete(RunLockRow).where(
                        RunLockRow.name == name, RunLockRow.token == holder.token
                    )
                )
            continue
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait:g} s" if wait > 0 else ""
            raise LockHeld(
                f"another run holds the {name} lock{waited}: {_describe(holder)}; "
                "wait for it to finish or pass --wait SECONDS"
            )
        time.sleep(min(0.5, max(0.05, deadline - time.monotonic())))


def _sqlite_busy(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig or exc) or "database is busy" in str(exc)


def _beat(store: Store, name: str, token: str, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            with store.engine.begin() as conn:
                conn.execute(
                    update(RunLockRow)
                    .where(RunLockRow.name == name, RunLockRow.token == token)
                    .values(heartbeat_at=utcnow())
                )
        except Exception:  # a missed beat only ages the lock; the next one retries
            continue
