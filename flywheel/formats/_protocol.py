"""The extension point for ingestion formats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from flywheel.formats._source import Record, TraceSource


@runtime_checkable
class TraceFormat(Protocol):
    """Turns one file of some producer's export into traces.

    ``sniff`` looks at the first bytes of a file (decompressed) and says whether this format
    can read it: ``True`` / ``False``, or a confidence in [0, 1] (a format recognised by
    keys only it uses says 1; one that reads any file of a common shape, less). It must be
    cheap and must not raise; it may be shown a longer prefix when no format took the first
    64 KB. ``read`` yields, in file order, a `Parsed` for every trace and a `Rejected` for
    every record it cannot use (naming the line and field). ``read`` must not raise on bad
    content: a bad record is data, not an exception. Formats that assemble a trace from
    several records (spans) yield the trace once all of its records have been seen.
    """

    name: str

    def sniff(self, source: TraceSource, head: bytes) -> bool | float: ...

    def read(self, source: TraceSource) -> Iterator[Record]: ...
