"""The native JSONL format: one `Trace` per line (only ``trace_id`` and ``input`` required)."""

from __future__ import annotations

from collections.abc import Iterator

from flywheel.formats._source import Record, Rejected, TraceSource, build_trace


class NativeFormat:
    name = "native"

    def sniff(self, source: TraceSource, head: bytes) -> float:
        first = head.lstrip().split(b"\n", 1)[0]
        # Two common key names: a specific format that also matches is the better reading.
        native = first.startswith(b"{") and b'"trace_id"' in first and b'"input"' in first
        return 0.8 if native else 0.0

    def read(self, source: TraceSource) -> Iterator[Record]:
        for item in source.json_lines():
            if isinstance(item, Rejected):
                yield item
                continue
            line, data, raw = item
            if not isinstance(data, dict):
                yield Rejected(source.name, line, "expected a JSON object per line", raw=raw)
                continue
            yield build_trace(data, file=source.name, line=line, raw=raw)
