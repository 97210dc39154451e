"""Ingest trace files: detect each file's format, stream its records, store them in batches."""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from flywheel.config import IngestConfig
from flywheel.errors import FlywheelError, UserError
from flywheel.formats import (
    Record,
    Rejected,
    TraceFormat,
    TraceSource,
    detect_format,
    get_format,
)
from flywheel.store import IngestCounts, PreparedTrace, Store, TimestampWindow, prepare_trace
from flywheel.store._tables import utcnow

#: Called after each batch with (file, records read so far in that file).
ProgressCallback = Callable[[str, int], None]


#: What a folder is searched for; a file named explicitly is always read.
TRACE_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".gz"})


def window_of(config: IngestConfig) -> TimestampWindow:
    """The timestamp window the ``[ingest]`` settings describe."""
    return TimestampWindow(
        future=timedelta(hours=config.max_future_hours), past=timedelta(days=config.max_past_days)
    )


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, plus the trace files (JSON, JSONL, gzip) under the folders named.

    Folder contents are sorted; hidden files and folders are skipped.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in TRACE_SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"{path}: no such file or folder")
    return files


def ingest_paths(
    store: Store,
    paths: Iterable[Path],
    *,
    format: str = "auto",
    source: str | None = None,
    batch_size: int = 2000,
    max_record_bytes: int = 64 * 1024 * 1024,
    timestamp_window: TimestampWindow | None = None,
    on_progress: ProgressCallback | None = None,
) -> IngestCounts:
    """Ingest every file; bad records are quarantined, everything else stored. Idempotent.

    ``source`` names where the traces come from (part of their key); by default the format's
    name. The run row is kept current batch by batch, so an interrupted run shows what it
    committed; rerunning finishes the job and counts what was already stored as duplicates.
    A trace whose timestamp is outside ``timestamp_window`` around the start of the run is
    stored with that timestamp flagged (see `TimestampWindow`).
    """
    fixed = None if format == "auto" else get_format(format)
    if source is not None and not 0 < len(source) <= SOURCE_CHARS:
        raise UserError(f"--source must be 1 to {SOURCE_CHARS} characters, got {len(source)}")
    files = expand_paths(paths)
    window = _Window(timestamp_window or TimestampWindow(), utcnow())
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
                window,
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


#: Width of the ``source`` column.
SOURCE_CHARS = 200


@dataclass(frozen=True, slots=True)
class _Window:
    """The timestamp window and the ingest time it is around (one per run)."""

    window: TimestampWindow
    now: datetime


@dataclass
class _Batch:
    """What the parser hands the writer: prepared rows and rejections, plus progress."""

    prepared: list[PreparedTrace] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0


def _batches(
    src: TraceSource, fmt: TraceFormat, batch_size: int, window: _Window
) -> Iterator[_Batch]:
    """Parse and prepare a file's records in batches; a repeated trace id starts a new batch
    so that a changed second copy in the same file becomes a new version of the first."""
    batch, seen, read = _Batch(), set[str](), 0
    for record in _guarded(src, fmt):
        read += 1
        item = (
            record
            if isinstance(record, Rejected)
            else prepare_trace(record, window=window.window, now=window.now)
        )
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


def _guarded(src: TraceSource, fmt: TraceFormat) -> Iterator[Record]:
    """``fmt.read(src)``, where a reader that raises (it must not) ends its file with a
    `Rejected` instead of ending the whole ingest."""
    records = fmt.read(src)
    count = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception as exc:  # a reader bug on hostile input: record it, go on
            yield Rejected(
                src.name,
                None,
                f"the {fmt.name} reader failed after {count} records ({type(exc).__name__}: "
                f"{str(exc)[:300]}); the rest of this file was skipped",
            )
            return
        count += 1
        yield record


def _parse_in_child(
    out: Connection,
    parents_end: Connection,
    src: TraceSource,
    fmt: TraceFormat,
    batch_size: int,
    window: _Window,
) -> None:  # pragma: no cover - runs in the parser process; its output is tested
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    # Without this copy of the read end, a parent killed mid-file would leave this process
    # blocked on a full pipe forever, holding the database sockets it inherited (and with
    # them the dead parent's open transaction on PostgreSQL).
    parents_end.close()
    try:
        for batch in _batches(src, fmt, batch_size, window):
            out.send(batch)
        out.send(None)
    except BaseException:
        out.send(traceback.format_exc())
    finally:
        out.close()


def _parsed_batches(
    src: TraceSource, fmt: TraceFormat, batch_size: int, window: _Window
) -> Iterator[_Batch]:
    """`_batches`, computed in a forked parser process so parsing and writing use two cores.

    Where fork is unavailable, parsing runs in this process. The pipe holds a few batches at
    most (the child blocks on a full pipe), so memory stays bounded whatever the file size.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        yield from _batches(src, fmt, batch_size, window)
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_parse_in_child, args=(sender, receiver, src, fmt, batch_size, window), daemon=True
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
    window: _Window,
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
    for batch in _parsed_batches(src, fmt, batch_size, window):
        if batch.prepared or batch.rejected:
            counts.add(store.write_batch(run_id, key, batch.prepared, batch.rejected))
        if on_progress:
            on_progress(src.name, batch.read)
    return counts
