"""A file's records parsed and prepared in batches: what the parser hands the writer.

Each batch holds prepared rows, rejections, progress, the notes of values read as a known
meaning and the score directions seen; a repeated trace id starts a new batch so that a
changed second copy becomes a new version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flywheel.config import ScoreRule
from flywheel.formats import (
    Record,
    Rejected,
    TraceFormat,
    TraceSource,
)
from flywheel.scores import ScoreDirections, ScoredValues, scored_values
from flywheel.store import PreparedTrace, TimestampWindow, prepare_trace
from flywheel.store._ingest import prepare_payload, serialise_trace
from flywheel.trace import RAW_SUFFIX, Trace

#: Width of the ``source`` column.
SOURCE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Window:
    """The timestamp window and the ingest time it is around (one per run)."""

    window: TimestampWindow
    now: datetime


@dataclass(frozen=True)
class Options:
    """How a file's records are parsed: batch size, timestamp window, score rules."""

    batch_size: int
    window: Window
    rules: Mapping[str, ScoreRule] | None = None


@dataclass(frozen=True, slots=True)
class _Serialised:
    """A trace serialised by the parser, to be read back and prepared by the writer."""

    trace_id: str
    payload: bytes
    file: str
    line: int
    #: How many of the batch's rejections came before it (where its own rejection goes).
    rejected_before: int
    #: What the batch counts of the trace once it is stored: its notes and scores.
    notes: frozenset[str]
    scored: ScoredValues | None


@dataclass
class Batch:
    """What the parser hands the writer: prepared rows and rejections, plus progress."""

    prepared: list[PreparedTrace] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0
    #: Values read as a known meaning (``feedback kind 'escalation' read as 'implicit'``).
    notes: set[str] = field(default_factory=set)
    directions: ScoreDirections = field(default_factory=ScoreDirections)
    #: Traces whose second half of `prepare_trace` is left to the writer (`finish`).
    serialised: list[_Serialised] = field(default_factory=list)

    def finish(self, window: Window) -> None:
        """Prepare the serialised traces: rows in their order, each rejection in its place
        among the parser's, as if the parser had prepared them."""
        rejected, taken = [], 0
        for item in self.serialised:
            done = prepare_payload(
                item.payload, file=item.file, line=item.line, window=window.window, now=window.now
            )
            if isinstance(done, Rejected):
                rejected.extend(self.rejected[taken : item.rejected_before])
                taken = item.rejected_before
                rejected.append(done)
            else:
                self.prepared.append(done)
                self.notes.update(item.notes)
                if item.scored is not None:
                    self.directions.add_values(item.scored)
        if rejected:
            self.rejected = rejected + self.rejected[taken:]
        self.serialised = []


def _notes(trace: Trace) -> Iterator[str]:
    for fb in trace.feedback:
        if fb.model_extra:
            yield from fb.unknown_values
    for step in trace.steps:
        extra = step.model_extra
        if extra and "type" + RAW_SUFFIX in extra:
            yield f"step type {extra['type' + RAW_SUFFIX]!r} read as 'other'"


def parse_batches(
    src: TraceSource, fmt: TraceFormat, options: Options, *, defer: bool = False
) -> Iterator[Batch]:
    """Parse and prepare a file's records in batches; a repeated trace id starts a new batch
    so that a changed second copy in the same file becomes a new version of the first.

    With ``defer``, each trace is only serialised: reading it back and making its row is
    left to the receiver (`Batch.finish`), so that a parser process and the writer share
    the work.
    """
    window = options.window
    batch, seen, read = Batch(directions=ScoreDirections(options.rules)), set[str](), 0
    for record in _guarded(src, fmt):
        read += 1
        item: PreparedTrace | _Serialised | Rejected
        if isinstance(record, Rejected):
            item = record
        elif defer:
            payload = serialise_trace(record)
            trace = record.trace
            item = (
                payload
                if isinstance(payload, Rejected)
                else _Serialised(
                    trace.trace_id,
                    payload,
                    record.file,
                    record.line,
                    len(batch.rejected),
                    frozenset(_notes(trace)),
                    scored_values(trace) if trace.scores else None,
                )
            )
        else:
            item = prepare_trace(record, window=window.window, now=window.now)
        if isinstance(item, PreparedTrace) and not isinstance(record, Rejected):
            batch.notes.update(_notes(record.trace))
            batch.directions.add(record.trace)
        if isinstance(item, Rejected):
            batch.rejected.append(item)
        else:
            if item.trace_id in seen:
                # The new copy's scores stay with it: they were counted in the old batch.
                yield batch
                batch, seen = (
                    Batch(read=read - 1, directions=ScoreDirections(options.rules)),
                    set(),
                )
            if isinstance(item, _Serialised):
                batch.serialised.append(item)
            else:
                batch.prepared.append(item)
            seen.add(item.trace_id)
        if len(batch.prepared) + len(batch.serialised) + len(batch.rejected) >= options.batch_size:
            batch.read = read
            yield batch
            batch, seen = Batch(read=read, directions=ScoreDirections(options.rules)), set()
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
