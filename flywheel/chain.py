"""Hash chains for append-only logs: each record's hash covers its fields and its
predecessor's hash, so editing or deleting any record breaks every hash after it.

Used by the app's decision audit log and by the eval sets' sign-off log.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

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
