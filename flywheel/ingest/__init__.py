"""Ingest trace files: detect each file's format, stream its records, store them in batches.

The parts: `_paths` (which files to read), `_batches` (a file's records parsed in batches),
`_parsing` (a forked parser for large files) and `_files` (one file's format, batches and
writes); `ingest_paths` runs them over every file and records the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path

from flywheel.config import IngestConfig, ScoreRule
from flywheel.errors import UserError
from flywheel.formats import TraceSource, get_format
from flywheel.ingest._batches import SOURCE_CHARS as SOURCE_CHARS
from flywheel.ingest._batches import Options, Window
from flywheel.ingest._files import ProgressCallback as ProgressCallback
from flywheel.ingest._files import Writes, ingest_file
from flywheel.ingest._parsing import FORK_ABOVE_BYTES as FORK_ABOVE_BYTES
from flywheel.ingest._parsing import WRITER_SHARE as WRITER_SHARE
from flywheel.ingest._paths import NOT_TRACE_REASON as NOT_TRACE_REASON
from flywheel.ingest._paths import SYMLINK_REASON as SYMLINK_REASON
from flywheel.ingest._paths import TRACE_SUFFIXES as TRACE_SUFFIXES
from flywheel.ingest._paths import SkippedPath as SkippedPath
from flywheel.ingest._paths import expand_paths as expand_paths
from flywheel.scores import ScoreDirections
from flywheel.store import IngestCounts, Store, TimestampWindow
from flywheel.store._tables import utcnow


def window_of(config: IngestConfig) -> TimestampWindow:
    """The timestamp window the ``[ingest]`` settings describe."""
    return TimestampWindow(
        future=timedelta(hours=config.max_future_hours), past=timedelta(days=config.max_past_days)
    )


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
    window = Window(timestamp_window or TimestampWindow(), utcnow())
    passed: list[SkippedPath] = []
    files = expand_paths(paths, follow_symlinks=follow_symlinks, skipped=passed)
    skipped = [passed_path.as_dict() for passed_path in passed]
    run_id = store.start_run([str(f) for f in files])
    total = IngestCounts(skipped=skipped)
    directions = ScoreDirections(score_rules)
    notes_seen: set[str] = set()
    status = "failed"
    writes = Writes(store, run_id, batch_size)
    try:
        for file in files:
            counts = ingest_file(
                writes,
                TraceSource(file, max_record_bytes, follow_symlinks),
                fixed,
                source,
                Options(batch_size, window, directions.rules),
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
