"""Hash chains for append-only logs: each record's hash covers its fields and its
predecessor's hash, so editing or deleting any record breaks every hash after it.

Used by the app's decision audit log and by the eval sets' sign-off log.

A chain alone cannot show that its *last* records were deleted, or that every hash was
recomputed after an edit: both leave a consistent chain. So each chain's head is also
anchored outside the database (`ChainAnchors`): a file in the project's data folder
(``.flywheel/chain-anchors.json``, mode 600) holding, per chain, the newest record's id and
hash with an HMAC-SHA256 under a key that is not in the database (``FLYWHEEL_AUDIT_KEY``, else
``.flywheel/audit.key``, 32 random bytes created on first use, mode 600). A project's store
(`anchor_engine`, called by `Project.open_store`) moves the anchor forward each time a
transaction that appended to a chain commits. Verification then checks that the anchored
record still exists with the anchored hash: truncation and a rehash are detected, and so is
an edited anchor (its MAC). The approval log also writes its head into each ship's merge
commit (``Flywheel-Audit-Head`` trailer), a second anchor kept in git.

What it cannot stop: someone who holds the key *and* writes the database can forge both;
keep ``FLYWHEEL_AUDIT_KEY`` with the operator, not in the project, when that matters.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Engine, event, func, insert, select

from flywheel.errors import UserError
from flywheel.private import private_dir
from flywheel.store._tables import utcnow

#: The predecessor hash of a chain's first record.
GENESIS = "0" * 64


def _utc_text(moment: datetime) -> str:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def record_hash(
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of a record's fields and its predecessor's hash."""
    canonical = json.dumps(
        {
            "id": id,
            "at": _utc_text(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append_record(
    conn: Connection,
    table: Any,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
) -> ChainRecord:
    """Append one record to ``table`` (columns id, at, actor, action, subject, detail,
    prev_hash, hash) inside the caller's transaction; the record."""
    head = conn.execute(select(table.id, table.hash).order_by(table.id.desc()).limit(1)).first()
    prev_hash, next_id = (head.hash, head.id + 1) if head else (GENESIS, 1)
    values: dict[str, Any] = {
        "id": next_id,
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": json.loads(json.dumps(detail, default=str)),
        "prev_hash": prev_hash,
    }
    values["hash"] = record_hash(**values)
    conn.execute(insert(table).values(**values))
    pending = conn.info.setdefault(_PENDING, {})
    pending[table.__tablename__] = Head(id=next_id, hash=values["hash"])
    return ChainRecord.model_validate(values)


class ChainRecord(BaseModel):
    """One record of a hash-chained log (the app's decisions, the eval sets' sign-offs)."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class Head(BaseModel):
    """A chain's newest record: its id and hash."""

    id: int
    hash: str

    def trailer(self) -> str:
        """The value of a ``Flywheel-Audit-Head`` commit trailer: ``ID HASH``."""
        return f"{self.id} {self.hash}"


def head_of(conn: Connection, table: Any) -> Head | None:
    row = conn.execute(select(table.id, table.hash).order_by(table.id.desc()).limit(1)).first()
    return Head(id=row.id, hash=row.hash) if row else None


def record_at(conn: Connection, table: Any, record_id: int) -> Head | None:
    row = conn.execute(select(table.id, table.hash).where(table.id == record_id)).first()
    return Head(id=row.id, hash=row.hash) if row else None


#: ``conn.info`` key of the heads appended in the open transaction, by table name.
_PENDING = "flywheel_chain_heads"
KEY_ENV = "FLYWHEEL_AUDIT_KEY"
KEY_FILE = "audit.key"
ANCHORS_FILE = "chain-anchors.json"


class Anchor(BaseModel):
    id: int
    hash: str
    mac: str


class ChainAnchors:
    """The anchors of a project's chains: a MAC'd head per chain, outside the database."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / ANCHORS_FILE

    def existing_key(self) -> bytes | None:
        """``FLYWHEEL_AUDIT_KEY``, else the project's key file; None when neither exists."""
        env = os.environ.get(KEY_ENV)
        if env:
            return env.encode("utf-8")
        path = self.data_dir / KEY_FILE
        return path.read_bytes().strip() if path.is_file() else None

    def key(self) -> bytes:
        """The anchoring key, the project's key file made on first use."""
        found = self.existing_key()
        if found is not None:
            return found
        path = self.data_dir / KEY_FILE
        private_dir(self.data_dir)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_bytes().strip()
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        return path.read_bytes().strip()

    def _mac(self, key: bytes, chain: str, head: Head) -> str:
        message = f"{chain}:{head.id}:{head.hash}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def load(self) -> dict[str, Anchor]:
        if not self.path.is_file():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {name: Anchor.model_validate(value) for name, value in raw.items()}
        except (ValueError, ValidationError, AttributeError):
            raise UserError(f"{self.path} is not a valid anchors file (edited?)") from None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        private_dir(self.data_dir)
        fd = os.open(self.data_dir / f".{ANCHORS_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def advance(self, heads: dict[str, Head], *, force: bool = False) -> None:
        """Anchor each chain at ``heads`` (never backwards unless ``force``)."""
        key = self.key()
        with self._locked():
            anchors = self.load()
            changed = False
            for chain, head in heads.items():
                old = anchors.get(chain)
                if old is not None and old.id >= head.id and not force:
                    continue
                anchors[chain] = Anchor(id=head.id, hash=head.hash, mac=self._mac(key, chain, head))
                changed = True
            if changed:
                self._write(anchors)

    def _write(self, anchors: dict[str, Anchor]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".anchors-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({k: v.model_dump() for k, v in sorted(anchors.items())}, handle, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def problem(self, conn: Connection, table: Any) -> str | None:
        """None when ``table``'s chain still holds its anchored record; else what is wrong."""
        chain = table.__tablename__
        count = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        anchor = self.load().get(chain)
        if anchor is None:
            if count == 0:
                return None
            return (
                f"{chain}: {count} records but no anchor in {self.path} (deleted?); after "
                "checking the chain, an admin re-anchors it with `flywheel audit anchor`"
            )
        key = self.existing_key()
        head = Head(id=anchor.id, hash=anchor.hash)
        if key is None or not hmac.compare_digest(anchor.mac, self._mac(key, chain, head)):
            return (
                f"{chain}: the anchor's MAC does not match the key (the anchors file was edited "
                f"or {KEY_ENV} / {KEY_FILE} changed)"
            )
        stored = record_at(conn, table, anchor.id)
        if stored is None:
            last = head_of(conn, table)
            ends = f"ends at record {last.id}" if last else "is empty"
            return (
                f"{chain}: record {anchor.id} was anchored but the chain {ends}: records were "
                "deleted (truncated)"
            )
        if stored.hash != anchor.hash:
            return (
                f"{chain}: record {anchor.id}'s hash differs from its anchored hash: the chain "
                "was rewritten (rehashed)"
            )
        return None


def anchor_engine(engine: Engine, data_dir: Path) -> None:
    """Anchor every chain head appended through ``engine`` when its transaction commits."""
    if engine in _ANCHORED:
        return
    anchors = ChainAnchors(data_dir)

    def on_commit(conn: Connection) -> None:
        heads = conn.info.pop(_PENDING, None)
        if heads:
            anchors.advance(heads)

    def on_rollback(conn: Connection) -> None:
        conn.info.pop(_PENDING, None)

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    _ANCHORED.add(engine)


#: Engines whose commits already move the anchors (one listener per engine).
_ANCHORED: weakref.WeakSet[Engine] = weakref.WeakSet()


def link_problem(record: Any, *, prev_hash: str, last_id: int) -> str | None:
    """None when ``record`` follows the record (``last_id``, ``prev_hash``) and its content
    matches its hash; else what is wrong with it."""
    if record.id != last_id + 1:
        return f"record {last_id + 1} is missing before record {record.id}"
    if record.prev_hash != prev_hash:
        return "its prev_hash does not match the previous record"
    expected = record_hash(
        id=record.id,
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject=record.subject,
        detail=record.detail,
        prev_hash=record.prev_hash,
    )
    if record.hash != expected:
        return "its content does not match its hash (edited)"
    return None
