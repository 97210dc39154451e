"""Ingestion formats: each a small module behind the `TraceFormat` protocol."""

from flywheel.formats._protocol import TraceFormat
from flywheel.formats._registry import detect_format, format_names, get_format, register_format
from flywheel.formats._source import Parsed, Record, Rejected, TraceSource
from flywheel.formats.native import NativeFormat

# Detection order: the most specific formats first, the native JSONL last.
register_format(NativeFormat())

__all__ = [
    "Parsed",
    "Record",
    "Rejected",
    "TraceFormat",
    "TraceSource",
    "detect_format",
    "format_names",
    "get_format",
    "register_format",
]
