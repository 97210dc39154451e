"""Keep API keys out of messages, logs, caches and ledgers."""

from __future__ import annotations

import os
import re

_SECRET_NAME = re.compile(r"(API_KEY|_KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
#: Bearer tokens and provider-style keys, in case one arrives that no variable names.
_KEY_SHAPES = re.compile(r"(Bearer\s+)\S+|\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}")
_MIN_SECRET_LEN = 8
REDACTED = "[REDACTED]"


def known_secrets(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Values of key-like environment variables, plus ``extra``, longest first."""
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k)}
    values.update(extra)
    return tuple(sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True))


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with every known secret and every key-shaped token replaced."""
    for secret in known_secrets(secrets):
        text = text.replace(secret, REDACTED)
    return _KEY_SHAPES.sub(lambda m: f"{m.group(1) or ''}{REDACTED}", text)
