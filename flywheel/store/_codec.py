"""Payload encoding: small payloads as is, large ones zlib-compressed; a tag byte says which.

`decode_trace` is the one way a stored trace is read back: it re-validates the payload, and a
payload that no longer validates raises `InvalidStoredTrace` (the reader quarantines it)
instead of whatever a later stage would have crashed with.
"""

import zlib

from pydantic import ValidationError

from flywheel.errors import FlywheelError
from flywheel.trace import Trace

COMPRESS_ABOVE = 4096


def encode_payload(data: bytes) -> bytes:
    if len(data) > COMPRESS_ABOVE:
        return b"z" + zlib.compress(data, 1)
    return b"j" + data


def decode_payload(blob: bytes) -> bytes:
    tag, body = blob[:1], blob[1:]
    if tag == b"z":
        return zlib.decompress(body)
    if tag == b"j":
        return body
    raise ValueError(f"unknown payload encoding {tag!r}")


class InvalidStoredTrace(FlywheelError):
    """A stored payload that does not read back as a `Trace` (a database written before the
    rule that every stored trace re-validates, or changed by hand)."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"field '{field}': {reason}" if field else reason)
        self.field = field
        self.reason = reason


def decode_trace(blob: bytes) -> Trace:
    """The `Trace` stored in ``blob``, validated again; `InvalidStoredTrace` if it is not one."""
    try:
        return Trace.model_validate_json(decode_payload(blob))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        raise InvalidStoredTrace(field, f"{first['msg']}{more}") from None
    except (ValueError, zlib.error) as exc:
        raise InvalidStoredTrace(None, f"unreadable payload: {exc}") from None
