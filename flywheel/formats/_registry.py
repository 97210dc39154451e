"""Formats by name, and detection: the formats every plugin registers through the hook
``register_formats`` (`flywheel.hookspecs`), the built-ins first.

Detection reads a bounded prefix of the file (64 KB) and asks every format's ``sniff`` how
sure it is; the most confident wins (ties go to the format registered first). A file whose
first record is larger than the prefix, with the keys that tell formats apart late in it, is
read again with a larger prefix (1 MB, then 16 MB) before detection gives up, so a 100 KB
first record with its id at the end is still recognised while a file nobody reads is never
read whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from flywheel import plugins
from flywheel.errors import UserError
from flywheel.formats._protocol import TraceFormat
from flywheel.formats._source import SNIFF_BYTES, TraceSource

#: Prefix sizes detection tries, smallest first.
PREFIXES = (SNIFF_BYTES, 1024 * 1024, 16 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class Detection:
    """The format chosen for a file, how sure its sniffer was, and the others that matched."""

    format: TraceFormat
    confidence: float
    prefix_bytes: int
    others: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        also = f"; also matched: {', '.join(self.others)}" if self.others else ""
        return (
            f"read as {self.format.name} (confidence {self.confidence:.2f}, "
            f"from the first {self.prefix_bytes:,} bytes{also})"
        )


def formats() -> dict[str, TraceFormat]:
    """Every registered format by name, in registration order (the order ties are broken in)."""
    return plugins.named_objects(
        "register_formats", "format", TraceFormat, "name, sniff(source, head) and read(source)"
    )


def format_names() -> list[str]:
    return list(formats())


def get_format(name: str) -> TraceFormat:
    found = formats()
    try:
        return found[name]
    except KeyError:
        valid = ", ".join(["auto", *found])
        raise UserError(f"unknown format '{name}'; valid formats: {valid}") from None


def sniff_confidence(fmt: TraceFormat, source: TraceSource, head: bytes) -> float:
    """A sniffer's answer as a confidence in [0, 1] (``True`` is 1); a raising sniffer is 0."""
    try:
        answer = fmt.sniff(source, head)
    except Exception:  # a plugin's broken sniffer must not stop detection
        return 0.0
    if isinstance(answer, bool):
        return 1.0 if answer else 0.0
    return min(1.0, max(0.0, float(answer)))


def detect(source: TraceSource) -> Detection | None:
    """The most confident format for ``source``, or None when no sniffer takes it."""
    size = _size(source)
    for prefix in PREFIXES:
        head = source.head(prefix)
        scored = [
            (confidence, i, fmt)
            for i, fmt in enumerate(formats().values())
            if (confidence := sniff_confidence(fmt, source, head)) > 0
        ]
        if scored:
            scored.sort(key=lambda item: (-item[0], item[1]))
            confidence, _, best = scored[0]
            others = tuple(fmt.name for _, _, fmt in scored[1:])
            return Detection(best, confidence, min(prefix, len(head)), others)
        if len(head) < prefix or (size is not None and size <= prefix):
            return None  # the whole file was seen
    return None


def detect_format(source: TraceSource) -> TraceFormat | None:
    """The format `detect` chooses, or None."""
    found = detect(source)
    return found.format if found is not None else None


def _size(source: TraceSource) -> int | None:
    try:
        return None if source.is_gzip else source.byte_size()
    except OSError:
        return None
