"""Which files an ingest reads: trace files named or found in folders, and the paths skipped.

A folder is searched (recursively) for the trace suffixes; a file named explicitly is always
read. Symbolic links are not followed unless asked, and each path left out is reported with
its reason (`SkippedPath`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flywheel.errors import UserError

#: What a folder is searched for; a file named explicitly is always read.
TRACE_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".gz", ".traj"})
NOT_TRACE_REASON = (
    f"not a trace file by its name (folders are searched for {', '.join(sorted(TRACE_SUFFIXES))}); "
    "name the file to read it anyway"
)
SYMLINK_REASON = "symbolic link, not followed (pass --follow-symlinks to read it)"


@dataclass(frozen=True)
class SkippedPath:
    """A path discovery did not read, and why (a link, a device, a pipe)."""

    path: Path
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"file": str(self.path), "reason": self.reason}


def expand_paths(
    paths: Iterable[Path],
    *,
    follow_symlinks: bool = False,
    skipped: list[SkippedPath] | None = None,
) -> list[Path]:
    """Regular files named, plus the trace files (JSON, JSONL, gzip) under the folders named.

    Symbolic links, inside a folder or named, are not followed unless ``follow_symlinks``: a
    link in an inbox must not make ingest copy a file from elsewhere (``/etc/shadow``) into
    the store. A folder named on the command line is the root even if it is a link. What is
    passed over is appended to ``skipped`` with its reason. Folder contents are sorted;
    hidden files and folders are skipped.
    """
    files: list[Path] = []
    passed: list[SkippedPath] = [] if skipped is None else skipped
    for path in paths:
        if path.is_symlink() and not follow_symlinks and not path.is_dir():
            passed.append(SkippedPath(path, SYMLINK_REASON))
        elif path.is_dir():
            found: list[Path] = []
            _walk(path, found, passed, follow_symlinks, {path.resolve()})
            files.extend(sorted(found))
        elif path.is_file():
            files.append(path)
        elif path.exists():
            passed.append(SkippedPath(path, "not a regular file"))
        else:
            raise UserError(f"{path}: no such file or folder")
    return files


def _walk(
    folder: Path,
    found: list[Path],
    skipped: list[SkippedPath],
    follow_symlinks: bool,
    visited: set[Path],
) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        skipped.append(SkippedPath(folder, f"cannot list it ({exc.strerror or exc})"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            if not follow_symlinks:
                skipped.append(SkippedPath(path, SYMLINK_REASON))
                continue
            if path.is_dir():
                real = path.resolve()
                if real in visited:
                    skipped.append(SkippedPath(path, "link to a folder already read (a loop)"))
                    continue
                visited.add(real)
                _walk(path, found, skipped, follow_symlinks, visited)
            elif path.is_file() and path.suffix.lower() in TRACE_SUFFIXES:
                found.append(path)
            elif not path.exists():
                skipped.append(SkippedPath(path, "broken symbolic link"))
        elif entry.is_dir(follow_symlinks=False):
            _walk(path, found, skipped, follow_symlinks, visited)
        elif entry.is_file(follow_symlinks=False):
            if path.suffix.lower() in TRACE_SUFFIXES:
                found.append(path)
            else:
                skipped.append(SkippedPath(path, NOT_TRACE_REASON))
        else:
            skipped.append(SkippedPath(path, "not a regular file"))
