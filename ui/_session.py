"""A sign-in that survives a reload: a signed, expiring session token kept in a cookie.

Signing in with a password issues a token ``v1.<payload>.<signature>``: the payload (base64url
JSON) names the user, a random session id, when it was issued and when it expires, and a
fingerprint of the user's password hash; the signature is HMAC-SHA256 under a key kept 0600 in
the project's data folder (``.flywheel/ui-session.key``, made on first use). The browser keeps
the token in the ``flywheel_session`` cookie (SameSite=Strict, path /, Secure over HTTPS); a
new page load (a reload, a pasted link) sends it, and the app signs the person in again only
when every check passes:

- the signature is right (a forged or altered token is refused);
- the token has not expired (``[ui] session_hours``, 12 by default) and was not issued in the
  future;
- its session was not signed out (sign-out records the session id in
  ``.flywheel/ui-sessions-revoked.json`` until the token would have expired; while that file
  is unreadable every token is refused, and the next sign-in renews the key, ending them all);
- the user still exists, still has that password (changing it ends every session), and their
  role is read afresh from the users file.

The password check and its lockout are untouched: a token is only ever issued after them.
OIDC sign-in keeps Streamlit's own identity cookie and issues no token here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from flywheel.private import open_private_binary, private_file, write_private_text
from flywheel.users import User, load_users, users_path

COOKIE = "flywheel_session"
KEY_FILE = "ui-session.key"
REVOKED_FILE = "ui-sessions-revoked.json"
_VERSION = "v1"
#: Clocks of the machines differ a little; a token issued further ahead is refused.
_SKEW_SECONDS = 60.0
_LOCK = threading.Lock()


class SessionClaims(BaseModel):
    """What a session token says (the signed payload)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str
    sid: str
    issued: float
    expires: float
    #: A fingerprint of the user's password hash when the token was issued.
    pw: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


class SessionSigner:
    """Issues, checks and revokes the app's session tokens for one project's data folder."""

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.data_dir = data_dir
        self.clock = clock

    # -- the key -------------------------------------------------------------------------

    @property
    def key_path(self) -> Path:
        return self.data_dir / KEY_FILE

    def _key(self) -> bytes:
        """The signing key: 32 random bytes, made once, readable by this account only."""
        path = self.key_path
        if not path.exists():
            try:
                fd = open_private_binary(path)
            except FileExistsError:  # another session made it first
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(secrets.token_hex(32).encode("ascii"))
        private_file(path)  # tightened if someone widened it
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise ValueError(f"{path}: the session key is too short; delete the file to renew it")
        return key

    def _sign(self, message: str) -> str:
        return _b64(hmac.new(self._key(), message.encode("ascii"), hashlib.sha256).digest())

    # -- tokens --------------------------------------------------------------------------

    def _password_hash(self, name: str) -> str | None:
        entry = load_users(users_path(self.data_dir)).users.get(name)
        return entry.password_hash if entry is not None else None

    def issue(self, user: User, hours: float) -> str:
        """A token for ``user`` (who just proved their password), valid ``hours`` from now."""
        password_hash = self._password_hash(user.name)
        if password_hash is None:
            raise ValueError(f"user '{user.name}' has no password: no session token")
        if isinstance(self._revoked(), _Everything):
            # The sign-out list is unreadable: which sessions ended is unknown, so every
            # earlier token ends (a new key) and the list starts again empty.
            with _LOCK:
                self.key_path.unlink(missing_ok=True)
                write_private_text(self.revoked_path, "{}")
        now = self.clock()
        claims = SessionClaims(
            user=user.name,
            sid=secrets.token_urlsafe(16),
            issued=now,
            expires=now + hours * 3600,
            pw=_fingerprint(password_hash),
        )
        body = f"{_VERSION}.{_b64(claims.model_dump_json().encode('utf-8'))}"
        return f"{body}.{self._sign(body)}"

    def claims(self, token: str) -> SessionClaims | None:
        """The token's claims when its signature is right and it is current; else None."""
        parts = token.strip().split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            return None
        body = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(body), parts[2]):
            return None
        try:
            claims = SessionClaims.model_validate_json(_unb64(parts[1]))
        except (ValidationError, ValueError, binascii.Error):
            return None
        now = self.clock()
        if claims.expires <= now or claims.issued > now + _SKEW_SECONDS:
            return None
        if claims.sid in self._revoked():
            return None
        return claims

    def user(self, token: str) -> User | None:
        """The signed-in user a token stands for (role from the users file), or None."""
        claims = self.claims(token)
        if claims is None:
            return None
        entry = load_users(users_path(self.data_dir)).users.get(claims.user)
        if entry is None or entry.password_hash is None:
            return None
        if not hmac.compare_digest(_fingerprint(entry.password_hash), claims.pw):
            return None  # the password changed since: every older session ends
        return User(name=claims.user, role=entry.role, via="session")

    # -- sign-out ------------------------------------------------------------------------

    @property
    def revoked_path(self) -> Path:
        return self.data_dir / REVOKED_FILE

    def _revoked(self) -> dict[str, float]:
        try:
            loaded = json.loads(self.revoked_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # unreadable: refuse every token rather than honour a signed-out one
            return _EVERYTHING
        if not isinstance(loaded, dict):
            return _EVERYTHING
        return {str(k): float(v) for k, v in loaded.items() if isinstance(v, int | float)}

    def revoke(self, token: str) -> bool:
        """End the token's session for good (sign-out); False when it was not a valid token."""
        claims = self.claims(token)
        if claims is None:
            return False
        with _LOCK:
            now = self.clock()
            kept = {sid: until for sid, until in self._revoked().items() if until > now}
            kept[claims.sid] = claims.expires
            write_private_text(self.revoked_path, json.dumps(kept, sort_keys=True))
        return True


class _Everything(dict[str, float]):
    """A revocation list that contains every session (its file could not be read)."""

    def __contains__(self, key: object) -> bool:
        return True


_EVERYTHING = _Everything()


def set_cookie_script(token: str, hours: float) -> str:
    """JavaScript that stores the token in the browser (for the page's origin, every path)."""
    value = json.dumps(f"{COOKIE}={token}; Path=/; Max-Age={round(hours * 3600)}; SameSite=Strict")
    return (
        "<script>document.cookie = "
        f"{value} + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )


def clear_cookie_script() -> str:
    value = json.dumps(f"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict")
    return f"<script>document.cookie = {value};</script>"
