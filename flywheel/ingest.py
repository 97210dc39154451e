"""Ingest trace files: detect each file's format, stream its records, store them in batches."""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from flywheel.errors import FlywheelError, UserError
from flywheel.formats import Rejected, TraceFormat, TraceSource, detect_format, get_format
from flywheel.store import IngestCounts, PreparedTrace, Store, prepare_trace

#: Called after each batch with (file, records read so far in that file).
ProgressCallback = Callable[[str, int], None]


#: What a folder is searched for; a file named explicitly is always read.
TRACE_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".gz"})
SYMLINK_REASON = "symbolic link, not followed (pass --follow-symlinks to read it)"


@dataclass(frozen=True)
class SkippedPath:
    """A path discovery did not read, and why (a link, a device, a pipe)."""

    path: Path
    reason: str


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
            skipped.append(SkippedPath(path, "not a regular file"))


def ingest_paths(
    store: Store,
    paths: Iterable[Path],
    *,
    format: str = "auto",
    source: str | None = None,
    batch_size: int = 2000,
    max_record_bytes: int = 64 * 1024 * 1024,
    on_progress: ProgressCallback | None = None,
    follow_symlinks: bool = False,
) -> IngestCounts:
    """Ingest every file; bad records are quarantined, everything else stored. Idempotent.

    ``source`` names where the traces come from (part of their key); by default the format's
    name. The run row is kept current batch by batch, so an interrupted run shows what it
    committed; rerunning finishes the job and counts what was already stored as duplicates.
    """
    fixed = None if format == "auto" else get_format(format)
    files = expand_paths(paths, follow_symlinks=follow_symlinks)
    run_id = store.start_run([str(f) for f in files])
    total = IngestCounts()
    status = "failed"
    try:
        for file in files:
            counts = _ingest_file(
                store,
                run_id,
                TraceSource(file, max_record_bytes),
                fixed,
                source,
                batch_size,
                on_progress,
            )
            total.add(counts)
        status = "completed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        store.finish_run(run_id, status)
    return total


@dataclass
class _Batch:
    """What the parser hands the writer: prepared rows and rejections, plus progress."""

    prepared: list[PreparedTrace] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0


def _batches(src: TraceSource, fmt: TraceFormat, batch_size: int) -> Iterator[_Batch]:
    """Parse and prepare a file's records in batches; a repeated trace id starts a new batch
    so that a changed second copy in the same file becomes a new version of the first."""
    batch, seen, read = _Batch(), set[str](), 0
    for record in fmt.read(src):
        read += 1
        item = record if isinstance(record, Rejected) else prepare_trace(record)
        if isinstance(item, Rejected):
            batch.rejected.append(item)
        else:
            if item.trace_id in seen:
                yield batch
                batch, seen = _Batch(read=read - 1), set()
            batch.prepared.append(item)
            seen.add(item.trace_id)
        if len(batch.prepared) + len(batch.rejected) >= batch_size:
            batch.read = read
            yield batch
            batch, seen = _Batch(read=read), set()
    batch.read = read
    yield batch


def _parse_in_child(
    out: Connection, parents_end: Connection, src: TraceSource, fmt: TraceFormat, batch_size: int
) -> None:  # pragma: no cover - runs in the parser process; its output is tested
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    # Without this copy of the read end, a parent killed mid-file would leave this process
    # blocked on a full pipe forever, holding the database sockets it inherited (and with
    # them the dead parent's open transaction on PostgreSQL).
    parents_end.close()
    try:
        for batch in _batches(src, fmt, batch_size):
            out.send(batch)
        out.send(None)
    except BaseException:
        out.send(traceback.format_exc())
    finally:
        out.close()


def _parsed_batches(src: TraceSource, fmt: TraceFormat, batch_size: int) -> Iterator[_Batch]:
    """`_batches`, computed in a forked parser process so parsing and writing use two cores.

    Where fork is unavailable, parsing runs in this process. The pipe holds a few batches at
    most (the child blocks on a full pipe), so memory stays bounded whatever the file size.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        yield from _batches(src, fmt, batch_size)
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_parse_in_child, args=(sender, receiver, src, fmt, batch_size), daemon=True
    )
    child.start()
    sender.close()
    try:
        while True:
            message = receiver.recv()
            if message is None:
                return
            if isinstance(message, str):
                raise FlywheelError(f"{src.name}: the parser failed unexpectedly:\n{message}")
            yield message
    except EOFError:
        raise FlywheelError(
            f"{src.name}: the parser process died (exit code {child.exitcode})"
        ) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _ingest_file(
    store: Store,
    run_id: int,
    src: TraceSource,
    fixed: TraceFormat | None,
    source: str | None,
    batch_size: int,
    on_progress: ProgressCallback | None,
) -> IngestCounts:
    counts = IngestCounts()
    if src.path.stat().st_size == 0:
        counts.errors.append(
            {"file": src.name, "line": None, "field": None, "reason": "empty file: nothing to read"}
        )
        return counts
    fmt = fixed or detect_format(src)
    if fmt is None:
        rejected = Rejected(
            src.name,
            None,
            "could not recognise the trace format; pass --format (see `flywheel ingest --help`)",
            raw=src.head(4096),
        )
        counts.add(store.write_batch(run_id, source or "unknown", [], [rejected]))
        return counts
    key = source or fmt.name
    for batch in _parsed_batches(src, fmt, batch_size):
        if batch.prepared or batch.rejected:
            counts.add(store.write_batch(run_id, key, batch.prepared, batch.rejected))
        if on_progress:
            on_progress(src.name, batch.read)
    return counts
