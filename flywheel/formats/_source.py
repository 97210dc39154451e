"""Reading trace files: gzip, JSONL streamed in constant memory, JSON documents record by record.

Every reader yields either a decoded record with its line number or a `Rejected` that names
the file, the line and what was wrong, so one bad record never stops a file.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from flywheel.trace import Trace

GZIP_MAGIC = b"\x1f\x8b"
#: How much of a file format detection looks at.
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be turned into a trace, with where and why."""

    file: str
    line: int | None
    reason: str
    field: str | None = None
    raw: bytes = b""

    @property
    def message(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f"field '{self.field}': " if self.field else ""
        return f"{where}: {field}{self.reason}"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A trace read from ``file`` at ``line`` (the line its record starts on)."""

    trace: Trace
    file: str
    line: int


Record = Parsed | Rejected


class RefusedFile(OSError):
    """The path is not a regular file when it is opened: a symbolic link swapped in after the
    folder was listed (not followed unless asked), a FIFO, a device."""


#: Refuse a symbolic link at open time, where the OS can (not on Windows).
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: A FIFO swapped in must not block the open; regular files ignore the flag.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class _OwnedGzip(gzip.GzipFile):
    """A gzip reader that closes the file it reads when it is closed."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


@dataclass(frozen=True, slots=True)
class TraceSource:
    """One input file. ``name`` is how messages refer to it.

    It is opened without following a symbolic link (``O_NOFOLLOW``) unless
    ``follow_symlinks``, and only as a regular file: the folder walk passes links over, but a
    link swapped in between the walk and the read must not make ingest copy a file from
    elsewhere into the store.
    """

    path: Path
    #: A record (line or document) larger than this is rejected unread.
    max_record_bytes: int = 64 * 1024 * 1024
    follow_symlinks: bool = False

    @property
    def name(self) -> str:
        return str(self.path)

    def _open_raw(self) -> IO[bytes]:
        flags = os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0)
        if not self.follow_symlinks:
            if not _NOFOLLOW and self.path.is_symlink():  # best effort where the OS cannot
                raise RefusedFile(errno.ELOOP, self._refusal("is a symbolic link"))
            flags |= _NOFOLLOW
        try:
            fd = os.open(self.path, flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP and not self.follow_symlinks:
                raise RefusedFile(errno.ELOOP, self._refusal("is a symbolic link")) from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RefusedFile(errno.EINVAL, self._refusal("is not a regular file"))
        return os.fdopen(fd, "rb")

    def _refusal(self, what: str) -> str:
        hint = " (pass --follow-symlinks to read links)" if "link" in what else ""
        return f"{self.name} {what} now; not read{hint}"

    def refusal(self) -> str | None:
        """Why this path is not read (a link or not a regular file), or None."""
        try:
            with self._open_raw():
                return None
        except RefusedFile as exc:
            return exc.strerror

    @property
    def is_gzip(self) -> bool:
        with self._open_raw() as handle:
            return handle.read(2) == GZIP_MAGIC

    def byte_size(self) -> int:
        """The file's size in bytes (compressed, for a gzip file)."""
        return self.path.stat().st_size

    def loaded(self, below: int) -> TraceSource:
        """This file read into memory, when it is smaller than ``below`` bytes, else itself.

        A small file is then opened once, not once per look (the refusal check, the gzip
        check, detection's prefix, the reader): for a folder of one-trace exports the opens
        cost more than parsing. It is refused as `open` refuses it (`RefusedFile`).
        """
        with self._open_raw() as handle:
            size = os.fstat(handle.fileno()).st_size
            if size >= below:
                return self
            data = handle.read(size + 1)
        return self if len(data) > size else LoadedSource(self, data)  # grown: read as a file

    def open(self) -> IO[bytes]:
        """The file's bytes, transparently decompressed."""
        raw = self._open_raw()
        try:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
        except BaseException:
            raw.close()
            raise
        return _OwnedGzip(raw) if gzipped else raw  # type: ignore[return-value]

    def head(self, size: int = SNIFF_BYTES) -> bytes:
        """The first ``size`` bytes (decompressed); a truncated gzip gives what it can."""
        try:
            with self.open() as handle:
                return handle.read(size)
        except (EOFError, OSError, zlib.error):
            return b""

    def lines(self) -> Iterator[tuple[int, bytes] | Rejected]:
        """Each non-blank line with its 1-based number; a truncated gzip ends in a `Rejected`."""
        number = 0
        try:
            with self.open() as handle:
                for number, line in enumerate(handle, start=1):
                    if len(line) > self.max_record_bytes:
                        yield Rejected(
                            self.name,
                            number,
                            f"line is {len(line)} bytes, over the limit of {self.max_record_bytes} "
                            "(raise ingest.max_record_bytes in flywheel.toml to accept it)",
                            raw=line,
                        )
                    elif line.strip():
                        yield number, line
        except RefusedFile as exc:
            yield Rejected(self.name, None, str(exc.strerror))
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            yield Rejected(
                self.name,
                number + 1,
                f"file is cut short or corrupt ({type(exc).__name__}: {exc}); "
                "records before this line were read",
            )

    def json_lines(self) -> Iterator[tuple[int, Any, bytes] | Rejected]:
        """JSONL: each line decoded, or rejected with the decoding error."""
        for item in self.lines():
            if isinstance(item, Rejected):
                yield item
                continue
            number, raw = item
            try:
                yield number, orjson.loads(raw), raw
            except orjson.JSONDecodeError as exc:
                yield Rejected(self.name, number, _json_reason(raw, exc), raw=raw)

    def json_auto(self) -> Iterator[tuple[int, Any, bytes] | Rejected]:
        """`json_lines` when the first line is a whole JSON object, else `json_records`.

        A pretty-printed document's first line is not a whole object; a file whose first
        line is longer than the sniffed head reads fine as JSONL.
        """
        text = self.head().lstrip()
        first, newline, _ = text.partition(b"\n")
        if not newline:
            jsonl = text.startswith(b"{")
        else:
            try:
                jsonl = isinstance(orjson.loads(first), dict)
            except orjson.JSONDecodeError:
                jsonl = False
        return self.json_lines() if jsonl else self.json_records()

    def json_records(self) -> Iterator[tuple[int, Any, bytes] | Rejected]:
        """A JSON document: the elements of a top-level array one by one, or the single object.

        Elements before a syntax error are still returned; the rest of the file is rejected
        with the line and column of the error.
        """
        try:
            with self.open() as handle:
                data = handle.read(self.max_record_bytes + 1)
        except RefusedFile as exc:
            yield Rejected(self.name, None, str(exc.strerror))
            return
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
            yield Rejected(self.name, 1, f"file is cut short or corrupt ({exc})")
            return
        if len(data) > self.max_record_bytes:
            yield Rejected(
                self.name,
                1,
                f"JSON document is over the limit of {self.max_record_bytes} bytes "
                "(raise ingest.max_record_bytes in flywheel.toml, or convert it to JSONL)",
                raw=data[:4096],
            )
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            yield Rejected(self.name, line, f"not UTF-8 at byte {exc.start}", raw=data[:4096])
            return
        if data.lstrip(_JSON_WS)[:1] != b"[":  # one record: orjson reads it, as json does
            whole = loads_exactly(data)
            if whole is not _NOT_FAST:
                yield _line_of(text, _skip_ws(text, 0)), whole, data.strip(_JSON_WS)
                return
        yield from _iter_document(self.name, text)


class LoadedSource(TraceSource):
    """A small file's bytes, read once: every look at the file (detection, the reader) reads
    these, so they all see the same content."""

    data: bytes

    def __init__(self, src: TraceSource, data: bytes) -> None:
        super().__init__(src.path, src.max_record_bytes, src.follow_symlinks)
        object.__setattr__(self, "data", data)  # a frozen dataclass's subclass

    def _open_raw(self) -> IO[bytes]:
        return io.BytesIO(self.data)

    def byte_size(self) -> int:
        return len(self.data)


_DECODER = json.JSONDecoder()


def _iter_document(name: str, text: str) -> Iterator[tuple[int, Any, bytes] | Rejected]:
    decoder = _DECODER
    pos = _skip_ws(text, 0)
    if pos < len(text) and text[pos] != "[":
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield Rejected(name, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
            return
        except RecursionError:
            yield Rejected(
                name, _line_of(text, pos), _TOO_DEEP, raw=text[pos : pos + 4096].encode()
            )
            return
        yield _line_of(text, pos), value, text[pos:end].encode()
        return
    pos = _skip_ws(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield Rejected(
                name,
                exc.lineno,
                f"invalid JSON: {exc.msg} (column {exc.colno}); the rest of the file was skipped",
                raw=text[pos : pos + 4096].encode(),
            )
            return
        except RecursionError:
            yield Rejected(
                name,
                _line_of(text, pos),
                f"{_TOO_DEEP}; the rest of the file was skipped",
                raw=text[pos : pos + 4096].encode(),
            )
            return
        yield _line_of(text, pos), value, text[pos:end].encode()
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    if pos >= len(text):
        yield Rejected(name, _line_of(text, len(text)), "invalid JSON: the array is not closed")


_TOO_DEEP = "invalid JSON: nested too deeply to read"
_JSON_WS = b" \t\r\n"
_NOT_FAST = object()
#: Every digit as 0: a run of 20 (or a minus and 19) may be an integer past 64 bits, which
#: orjson reads as a float and ``json`` keeps whole.
_DIGITS = bytes.maketrans(b"123456789", b"000000000")


def loads_exactly(data: bytes) -> Any:
    """The JSON value that is all of ``data`` (bar whitespace) read by orjson, where that is
    what ``json`` reads; `_NOT_FAST` when orjson cannot say (not one whole value, NaN, a lone
    surrogate, a long number that may be an integer past 64 bits): the slower reading decides."""
    shape = data.translate(_DIGITS)
    if b"0" * 20 in shape or b"-" + b"0" * 19 in shape:
        return _NOT_FAST
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _NOT_FAST


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n\ufeff":
        pos += 1
    return pos


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _json_reason(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8 at byte {bad.start} of the line"
    return f"invalid JSON: {exc.msg} (column {exc.colno})"


def validation_rejection(
    exc: ValidationError, *, file: str, line: int, raw: bytes, prefix: str = ""
) -> Rejected:
    """A `Rejected` naming the first invalid field of a pydantic error, and how many more."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = prefix + ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
    return Rejected(file, line, f"{first['msg']}{more}", field=field or None, raw=raw)


def build_trace(
    data: dict[str, Any], *, file: str, line: int, raw: bytes | Callable[[], bytes]
) -> Record:
    """Validate a trace dict into a `Parsed`, or a `Rejected` naming the bad field.

    ``raw`` may be a function, called only for a rejection: a reader that assembles a trace
    from several records would otherwise serialise every trace's records for the rare one
    that is rejected.
    """
    try:
        return Parsed(Trace.model_validate(data), file, line)
    except ValidationError as exc:
        return validation_rejection(
            exc, file=file, line=line, raw=raw if isinstance(raw, bytes) else raw()
        )
