"""Files only their owner may read: the database, the LLM cache, reports and exports.

Traces hold users' words, keys may reach a prompt, and a shared machine has other accounts:
what Flywheel writes is created 0600 and the folders it creates 0700, whatever the umask.
Folders a person named (an export's destination) keep their mode; only files are tightened.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` and missing parents as 0700 folders (existing ones are left alone)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_DIR)
        with contextlib.suppress(OSError):
            folder.chmod(PRIVATE_DIR)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 (created so, or tightened if it was wider)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, PRIVATE_FILE)
    try:
        if os.fstat(fd).st_mode & 0o777 != PRIVATE_FILE:
            with contextlib.suppress(OSError):  # another user's file: leave it to them
                os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def tighten(path: Path) -> None:
    """0600 for a file that exists (a SQLite -wal/-shm companion of an older project)."""
    with contextlib.suppress(OSError):
        if path.is_file() and not path.is_symlink() and path.stat().st_mode & 0o077:
            path.chmod(PRIVATE_FILE)


def private_sqlite(path: Path) -> Path:
    """A SQLite database file and its journals, 0600 (SQLite gives journals the file's mode)."""
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        tighten(path.with_name(path.name + suffix))
    return path


def write_private_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to a 0600 file."""
    private_file(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def open_private_binary(path: Path) -> int:
    """A new 0600 file opened for writing (the caller wraps the descriptor); fails if it exists."""
    private_dir(path.parent)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
