"""Ingest trace files: detect each file's format, stream its records, store them in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from flywheel.errors import UserError
from flywheel.formats import Parsed, Rejected, TraceFormat, TraceSource, detect_format, get_format
from flywheel.store import IngestCounts, Store

#: Called after each batch with (file, records read so far in that file).
ProgressCallback = Callable[[str, int], None]


#: What a folder is searched for; a file named explicitly is always read.
TRACE_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".gz"})


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
    on_progress: ProgressCallback | None = None,
) -> IngestCounts:
    """Ingest every file; bad records are quarantined, everything else stored. Idempotent.

    ``source`` names where the traces come from (part of their key); by default the format's
    name. The run row is kept current batch by batch, so an interrupted run shows what it
    committed; rerunning finishes the job and counts what was already stored as duplicates.
    """
    fixed = None if format == "auto" else get_format(format)
    files = expand_paths(paths)
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
    parsed: list[Parsed] = []
    rejected_batch: list[Rejected] = []
    seen: set[str] = set()
    read = 0
    for record in fmt.read(src):
        read += 1
        if isinstance(record, Rejected):
            rejected_batch.append(record)
        else:
            if (
                record.trace.trace_id in seen
            ):  # a repeated id starts a new batch, so it versions cleanly
                counts.add(store.write_batch(run_id, key, parsed, rejected_batch))
                parsed, rejected_batch, seen = [], [], set()
            parsed.append(record)
            seen.add(record.trace.trace_id)
        if len(parsed) + len(rejected_batch) >= batch_size:
            counts.add(store.write_batch(run_id, key, parsed, rejected_batch))
            parsed, rejected_batch, seen = [], [], set()
            if on_progress:
                on_progress(src.name, read)
    if parsed or rejected_batch:
        counts.add(store.write_batch(run_id, key, parsed, rejected_batch))
    if on_progress:
        on_progress(src.name, read)
    return counts
