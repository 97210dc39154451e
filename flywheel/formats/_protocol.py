"""The extension point for ingestion formats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from flywheel.formats._source import Record, TraceSource


@runtime_checkable
class TraceFormat(Protocol):
    """Turns one file of some producer's export into traces.

    ``sniff`` looks at the first bytes of a file (decompressed) and says whether this format
    can read it; it must be cheap and must not raise. ``read`` yields, in file order, a
    `Parsed` for every trace and a `Rejected` for every record it cannot use (naming the line
    and field). ``read`` must not raise on bad content: a bad record is data, not an
    exception. Formats that assemble a trace from several records (spans) yield the trace
    once all of its records have been seen.
    """

    name: str

    def sniff(self, source: TraceSource, head: bytes) -> bool: ...

    def read(self, source: TraceSource) -> Iterator[Record]: ...
