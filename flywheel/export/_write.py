"""Atomic files: written to a temporary file beside the target, then renamed over it, so an
interrupted export leaves the previous file (or none), never half of a new one."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from flywheel.private import open_private_binary


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: Path, chunks: Iterable[bytes]) -> int:
    """Write ``chunks`` to ``path`` atomically; the bytes written."""
    temp = _temp_path(path)
    temp.unlink(missing_ok=True)  # left by a killed export of the same pid
    written = 0
    try:
        with os.fdopen(open_private_binary(temp), "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                written += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return written


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """One JSON object per line, atomically; the number of records."""
    count = 0

    def lines() -> Iterable[bytes]:
        nonlocal count
        for record in records:
            count += 1
            yield orjson.dumps(record) + b"\n"

    write_atomic(path, lines())
    return count
