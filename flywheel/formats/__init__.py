"""Ingestion formats: each a small module behind the `TraceFormat` protocol, registered by a
plugin's ``register_formats`` hook (the built-ins by ``flywheel._plugin``)."""

from flywheel.formats._protocol import TraceFormat
from flywheel.formats._registry import (
    Detection,
    detect,
    detect_format,
    format_names,
    formats,
    get_format,
    sniff_confidence,
)
from flywheel.formats._source import Parsed, Record, Rejected, TraceSource

__all__ = [
    "Detection",
    "Parsed",
    "Record",
    "Rejected",
    "TraceFormat",
    "TraceSource",
    "detect",
    "detect_format",
    "format_names",
    "formats",
    "get_format",
    "sniff_confidence",
]
