"""Shared parsing: a forked child parses a large file's batches while the writer stores them.

Small files, gzip files and platforms without fork are parsed in the writer's process
(`FORK_ABOVE_BYTES`); for a native file the writer also parses one chunk in `WRITER_SHARE`
itself between its writes; for a file in another format the child only reads and serialises
each trace, and the writer reads it back and makes its row. Batches come back in file order
either way.
"""

from __future__ import annotations

import itertools
import multiprocessing
import signal
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection

from flywheel.errors import FlywheelError
from flywheel.formats import (
    Rejected,
    TraceFormat,
    TraceSource,
)
from flywheel.formats.native import NativeFormat
from flywheel.ingest._batches import Batch, Options, parse_batches

#: Files smaller than this are parsed in the writer's process: forking a parser costs
#: tens of milliseconds, more than parsing a small file, and a folder of one-trace files
#: (Langfuse downloads, SWE-agent trajectories) ingested 20 to 30 traces/s with a fork each.
FORK_ABOVE_BYTES = 2 * 1024 * 1024


def _small(src: TraceSource) -> bool:
    try:
        return src.byte_size() < FORK_ABOVE_BYTES and not src.is_gzip
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
    options: Options,
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
                for batch in parse_batches(_Chunk(src, items), fmt, options):
                    out.send(batch)
                out.send(chunk)
        else:
            # The writer reads each trace back and makes its row (`Batch.finish`): it would
            # otherwise wait on this process for most of a file not in native format.
            for batch in parse_batches(src, fmt, options, defer=True):
                out.send(batch)
        out.send(None)
    except BaseException:
        out.send(traceback.format_exc())
    finally:
        out.close()


def parsed_batches(src: TraceSource, fmt: TraceFormat, options: Options) -> Iterator[Batch]:
    """`parse_batches`, computed in a forked parser process so parsing and writing use two cores.

    Where fork is unavailable, or the file is smaller than `FORK_ABOVE_BYTES`, parsing runs
    in this process. A plain native JSONL file, whose lines are independent records, is
    shared: the writer parses every `WRITER_SHARE`-th chunk of lines itself and the child
    the others, and the batches are written in file order. The pipe holds a few batches at
    most (the child blocks on a full pipe), so memory stays bounded whatever the file size.
    """
    if "fork" not in multiprocessing.get_all_start_methods() or _small(src):
        yield from parse_batches(src, fmt, options)
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

    def from_child() -> Iterator[Batch]:
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
            message.finish(options.window)
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
                batches: Iterator[Batch] = parse_batches(_Chunk(src, mine[1]), fmt, options)
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
