"""Ingest trace files: detect each file's format, stream its records, store them in batches."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from flywheel.config import IngestConfig, ScoreRule
from flywheel.errors import FlywheelError, UserError
from flywheel.formats import (
    Record,
    Rejected,
    TraceFormat,
    TraceSource,
    detect,
    get_format,
    sniff_confidence,
)
from flywheel.formats.native import NativeFormat
from flywheel.scores import ScoreDirections
from flywheel.store import IngestCounts, PreparedTrace, Store, TimestampWindow, prepare_trace
from flywheel.store._tables import utcnow
from flywheel.trace import RAW_SUFFIX, Trace

#: Called after each batch with (file, records read so far in that file).
ProgressCallback = Callable[[str, int], None]


def window_of(config: IngestConfig) -> TimestampWindow:
    """The timestamp window the ``[ingest]`` settings describe."""
    return TimestampWindow(
        future=timedelta(hours=config.max_future_hours), past=timedelta(days=config.max_past_days)
    )


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
    follow_symlinks: bool = False,
    score_rules: Mapping[str, ScoreRule] | None = None,
) -> IngestCounts:
    """Ingest every file; bad records are quarantined, everything else stored. Idempotent.

    ``source`` names where the traces come from (part of their key); by default the format's
    name. The run row is kept current batch by batch, so an interrupted run shows what it
    committed; rerunning finishes the job and counts what was already stored as duplicates.

    ``score_rules`` (``[signals.scores]``) are what the scores read are checked against: a
    score whose values contradict its direction gets a line in ``warnings``, as does each
    feedback kind or source, or step type, read as a known meaning.

    A trace whose timestamp is outside ``timestamp_window`` around the start of the run is
    stored with that timestamp flagged (see `TimestampWindow`).
    """
    fixed = None if format == "auto" else get_format(format)
    if source is not None and not 0 < len(source) <= SOURCE_CHARS:
        raise UserError(f"--source must be 1 to {SOURCE_CHARS} characters, got {len(source)}")
    window = _Window(timestamp_window or TimestampWindow(), utcnow())
    passed: list[SkippedPath] = []
    files = expand_paths(paths, follow_symlinks=follow_symlinks, skipped=passed)
    skipped = [passed_path.as_dict() for passed_path in passed]
    run_id = store.start_run([str(f) for f in files])
    total = IngestCounts(skipped=skipped)
    directions = ScoreDirections(score_rules)
    notes_seen: set[str] = set()
    status = "failed"
    writes = _Writes(store, run_id, batch_size)
    try:
        for file in files:
            counts = _ingest_file(
                writes,
                TraceSource(file, max_record_bytes, follow_symlinks),
                fixed,
                source,
                _Options(batch_size, window, directions.rules),
                on_progress,
                directions,
                notes_seen,
            )
            total.add(counts)
        total.add(writes.flush())
        total.warnings.extend(directions.warnings())
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


@dataclass(frozen=True)
class _Options:
    """How a file's records are parsed: batch size, timestamp window, score rules."""

    batch_size: int
    window: _Window
    rules: Mapping[str, ScoreRule] | None = None


@dataclass
class _Batch:
    """What the parser hands the writer: prepared rows and rejections, plus progress."""

    prepared: list[PreparedTrace] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0
    #: Values read as a known meaning (``feedback kind 'escalation' read as 'implicit'``).
    notes: set[str] = field(default_factory=set)
    directions: ScoreDirections = field(default_factory=ScoreDirections)


def _notes(trace: Trace) -> Iterator[str]:
    for fb in trace.feedback:
        if fb.model_extra:
            yield from fb.unknown_values
    for step in trace.steps:
        extra = step.model_extra
        if extra and "type" + RAW_SUFFIX in extra:
            yield f"step type {extra['type' + RAW_SUFFIX]!r} read as 'other'"


def _batches(src: TraceSource, fmt: TraceFormat, options: _Options) -> Iterator[_Batch]:
    """Parse and prepare a file's records in batches; a repeated trace id starts a new batch
    so that a changed second copy in the same file becomes a new version of the first."""
    window = options.window
    batch, seen, read = _Batch(directions=ScoreDirections(options.rules)), set[str](), 0
    for record in _guarded(src, fmt):
        read += 1
        item = (
            record
            if isinstance(record, Rejected)
            else prepare_trace(record, window=window.window, now=window.now)
        )
        if not isinstance(item, Rejected) and not isinstance(record, Rejected):
            batch.notes.update(_notes(record.trace))
            batch.directions.add(record.trace)
        if isinstance(item, Rejected):
            batch.rejected.append(item)
        else:
            if item.trace_id in seen:
                # The new copy's scores stay with it: they were counted in the old batch.
                yield batch
                batch, seen = (
                    _Batch(read=read - 1, directions=ScoreDirections(options.rules)),
                    set(),
                )
            batch.prepared.append(item)
            seen.add(item.trace_id)
        if len(batch.prepared) + len(batch.rejected) >= options.batch_size:
            batch.read = read
            yield batch
            batch, seen = _Batch(read=read, directions=ScoreDirections(options.rules)), set()
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


#: Files smaller than this are parsed in the writer's process: forking a parser costs
#: tens of milliseconds, more than parsing a small file, and a folder of one-trace files
#: (Langfuse downloads, SWE-agent trajectories) ingested 20 to 30 traces/s with a fork each.
FORK_ABOVE_BYTES = 2 * 1024 * 1024


def _small(src: TraceSource) -> bool:
    try:
        return src.path.stat().st_size < FORK_ABOVE_BYTES and not src.is_gzip
    except OSError:
        return False


#: Of a native file's chunks of lines (``batch_size`` lines each), the writer parses one in
#: this many itself, between its writes, instead of waiting for the parser: parsing a native
#: trace (validate, serialise, validate again) costs over twice what writing it does.
WRITER_SHARE = 3

_LineItem = tuple[int, bytes] | Rejected


def _writers_chunk(chunk: int) -> bool:
    return chunk % WRITER_SHARE == 0


def _line_chunks(
    src: TraceSource, size: int, *, writers: bool
) -> Iterator[tuple[int, list[_LineItem]]]:
    """The writer's (or the parser's) chunks of ``src``'s lines, in order, each with its index.

    Chunk ``c`` holds the lines numbered ``c * size + 1`` to ``(c + 1) * size``; both
    processes read every line and keep their own chunks, empty ones included, up to the
    chunk of the file's last line, so that they agree on where the file ends.
    """
    current, items = 0, list[_LineItem]()
    for item in src.lines():
        number = (item.line or 1) if isinstance(item, Rejected) else item[0]
        chunk = (number - 1) // size
        while chunk > current:
            if _writers_chunk(current) == writers:
                yield current, items
            current, items = current + 1, []
        if _writers_chunk(chunk) == writers:
            items.append(item)
    if _writers_chunk(current) == writers:
        yield current, items


class _Chunk(TraceSource):
    """Lines of a JSONL file already read: what a line-by-line reader reads them from."""

    items: list[_LineItem]

    def __init__(self, src: TraceSource, items: list[_LineItem]) -> None:
        super().__init__(src.path, src.max_record_bytes)
        object.__setattr__(self, "items", items)  # a frozen dataclass's subclass

    def lines(self) -> Iterator[_LineItem]:
        yield from self.items


def _parse_in_child(
    out: Connection,
    parents_end: Connection,
    src: TraceSource,
    fmt: TraceFormat,
    options: _Options,
    shared: bool,
) -> None:  # pragma: no cover - runs in the parser process; its output is tested
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    # Without this copy of the read end, a parent killed mid-file would leave this process
    # blocked on a full pipe forever, holding the database sockets it inherited (and with
    # them the dead parent's open transaction on PostgreSQL).
    parents_end.close()
    try:
        if shared:
            for chunk, items in _line_chunks(src, options.batch_size, writers=False):
                for batch in _batches(_Chunk(src, items), fmt, options):
                    out.send(batch)
                out.send(chunk)
        else:
            for batch in _batches(src, fmt, options):
                out.send(batch)
        out.send(None)
    except BaseException:
        out.send(traceback.format_exc())
    finally:
        out.close()


def _parsed_batches(src: TraceSource, fmt: TraceFormat, options: _Options) -> Iterator[_Batch]:
    """`_batches`, computed in a forked parser process so parsing and writing use two cores.

    Where fork is unavailable, or the file is smaller than `FORK_ABOVE_BYTES`, parsing runs
    in this process. A plain native JSONL file, whose lines are independent records, is
    shared: the writer parses every `WRITER_SHARE`-th chunk of lines itself and the child
    the others, and the batches are written in file order. The pipe holds a few batches at
    most (the child blocks on a full pipe), so memory stays bounded whatever the file size.
    """
    if "fork" not in multiprocessing.get_all_start_methods() or _small(src):
        yield from _batches(src, fmt, options)
        return
    shared = isinstance(fmt, NativeFormat) and not src.is_gzip
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_parse_in_child, args=(sender, receiver, src, fmt, options, shared), daemon=True
    )
    child.start()
    sender.close()

    done = False

    def from_child() -> Iterator[_Batch]:
        """The child's batches up to the end of its current chunk, or of the file (``done``)."""
        nonlocal done
        while True:
            message = receiver.recv()
            if message is None:
                done = True
                return
            if isinstance(message, int):
                return
            if isinstance(message, str):
                raise FlywheelError(f"{src.name}: the parser failed unexpectedly:\n{message}")
            yield message

    try:
        if not shared:
            yield from from_child()
            return
        # Chunks of lines in file order: the writer parses every WRITER_SHARE-th itself.
        own = _line_chunks(src, options.batch_size, writers=True)
        read = 0
        for chunk in itertools.count():
            if _writers_chunk(chunk):
                mine = next(own, None)
                if mine is None:
                    return
                batches: Iterator[_Batch] = _batches(_Chunk(src, mine[1]), fmt, options)
            else:
                batches = from_child()
            for batch in batches:
                read += len(batch.prepared) + len(batch.rejected)
                batch.read = read
                yield batch
            if done:
                return
    except EOFError:
        raise FlywheelError(
            f"{src.name}: the parser process died (exit code {child.exitcode})"
        ) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _choose_format(src: TraceSource, fixed: TraceFormat | None) -> tuple[TraceFormat | None, str]:
    """The format to read ``src`` with and why; None and the reason when there is none.

    A forced format reads the file unless it does not look like that format and another one
    does: then the file is refused, naming the format it looks like (a forced LangSmith read
    of Phoenix spans stored one junk trace per span).
    """
    if fixed is None:
        found = detect(src)
        if found is None:
            return None, (
                "could not recognise the trace format (no reader took its first records); "
                "pass --format (see `flywheel ingest --help`)"
            )
        return found.format, found.reason
    if sniff_confidence(fixed, src, src.head()) > 0:
        return fixed, f"read as {fixed.name} (--format)"
    found = detect(src)
    if found is not None and found.format is not fixed:
        return None, (
            f"does not look like {fixed.name}: it looks like {found.format.name}; "
            f"drop --format or pass --format {found.format.name}"
        )
    return fixed, f"read as {fixed.name} (--format; its reader did not recognise the file)"


class _Writes:
    """Batches on their way to the store, small files' together: a transaction per file cost
    more than reading the file for one-trace exports (a folder of Langfuse downloads). A
    batch is written once it holds ``batch_size`` records, when the source key changes, or
    when a trace id repeats (a changed second copy must become a new version)."""

    def __init__(self, store: Store, run_id: int, batch_size: int) -> None:
        self.store, self.run_id, self.batch_size = store, run_id, batch_size
        self.key: str | None = None
        self.prepared: list[PreparedTrace] = []
        self.rejected: list[Rejected] = []
        self.ids: set[str] = set()

    def add(
        self, key: str, prepared: list[PreparedTrace], rejected: list[Rejected]
    ) -> IngestCounts:
        """Queue a batch; the counts of what this call wrote (for a small file, mostly none)."""
        written = IngestCounts()
        if key != self.key or any(item.trace_id in self.ids for item in prepared):
            written.add(self.flush())
        self.key = key
        self.prepared.extend(prepared)
        self.rejected.extend(rejected)
        self.ids.update(item.trace_id for item in prepared)
        if len(self.prepared) + len(self.rejected) >= self.batch_size:
            written.add(self.flush())
        return written

    def flush(self) -> IngestCounts:
        if self.key is None or not (self.prepared or self.rejected):
            return IngestCounts()
        counts = self.store.write_batch(self.run_id, self.key, self.prepared, self.rejected)
        self.prepared, self.rejected, self.ids = [], [], set()
        return counts


def _ingest_file(
    writes: _Writes,
    src: TraceSource,
    fixed: TraceFormat | None,
    source: str | None,
    options: _Options,
    on_progress: ProgressCallback | None,
    directions: ScoreDirections,
    notes_seen: set[str],
) -> IngestCounts:
    counts = IngestCounts()
    refused = src.refusal()
    if refused is not None:  # e.g. a link swapped in since the folder was listed
        counts.errors.append({"file": src.name, "line": None, "field": None, "reason": refused})
        counts.skipped.append({"file": src.name, "reason": refused})
        return counts
    if src.path.stat().st_size == 0:
        counts.errors.append(
            {"file": src.name, "line": None, "field": None, "reason": "empty file: nothing to read"}
        )
        return counts
    fmt, why = _choose_format(src, fixed)
    if fmt is None:
        rejected = Rejected(src.name, None, why, raw=src.head(4096))
        counts.add(writes.add(source or "unknown", [], [rejected]))
        counts.skipped.append({"file": src.name, "reason": why})
        return counts
    counts.files.append({"file": src.name, "format": fmt.name, "why": why})
    key = source or fmt.name
    for batch in _parsed_batches(src, fmt, options):
        if batch.prepared or batch.rejected:
            counts.add(writes.add(key, batch.prepared, batch.rejected))
        directions.merge(batch.directions)
        for note in sorted(batch.notes - notes_seen):
            counts.warnings.append(f"{note} (first in {src.name})")
        notes_seen |= batch.notes
        if on_progress:
            on_progress(src.name, batch.read)
    return counts
