"""One file's ingest: choose its format, parse it in batches, queue the batches' writes.

Small files' batches are written together (`Writes`); a file that is empty, unreadable or in
no recognised format is reported and, for the last, quarantined whole.
"""

from __future__ import annotations

from collections.abc import Callable

from flywheel.formats import (
    Rejected,
    TraceFormat,
    TraceSource,
    detect,
    sniff_confidence,
)
from flywheel.formats._source import RefusedFile
from flywheel.ingest import _parsing
from flywheel.ingest._batches import Options
from flywheel.ingest._parsing import parsed_batches
from flywheel.scores import ScoreDirections
from flywheel.store import IngestCounts, PreparedTrace, Store

#: Called after each batch with (file, records read so far in that file).
ProgressCallback = Callable[[str, int], None]


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


class Writes:
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


def ingest_file(
    writes: Writes,
    src: TraceSource,
    fixed: TraceFormat | None,
    source: str | None,
    options: Options,
    on_progress: ProgressCallback | None,
    directions: ScoreDirections,
    notes_seen: set[str],
) -> IngestCounts:
    counts = IngestCounts()
    try:
        # A small file is read once here; detection and its reader then read those bytes.
        src = src.loaded(_parsing.FORK_ABOVE_BYTES)
    except RefusedFile as exc:  # e.g. a link swapped in since the folder was listed
        refused = str(exc.strerror)
        counts.errors.append({"file": src.name, "line": None, "field": None, "reason": refused})
        counts.skipped.append({"file": src.name, "reason": refused})
        return counts
    if src.byte_size() == 0:
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
    for batch in parsed_batches(src, fmt, options):
        if batch.prepared or batch.rejected:
            counts.add(writes.add(key, batch.prepared, batch.rejected))
        directions.merge(batch.directions)
        for note in sorted(batch.notes - notes_seen):
            counts.warnings.append(f"{note} (first in {src.name})")
        notes_seen |= batch.notes
        if on_progress:
            on_progress(src.name, batch.read)
    return counts
