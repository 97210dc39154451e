"""Local users: a JSON file of names, roles and salted argon2 password hashes.

The file lives in the project's data folder (``.flywheel/users.json``), is written
atomically with owner-only permissions, and carries a format version. Users who sign in
through OIDC are looked up here by e-mail for their role (an entry without a password).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flywheel.errors import UserError
from flywheel.store._tables import utcnow

USERS_FILE = "users.json"
USERS_VERSION = 1
_HASHER = PasswordHasher()


class Role(StrEnum):
    """Each role may do everything the roles before it may."""

    viewer = "viewer"
    reviewer = "reviewer"
    approver = "approver"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(role.value for role in cls)
            raise UserError(f"unknown role '{value}'; valid roles: {valid}") from None


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    #: None for a user who signs in only through OIDC.
    password_hash: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = USERS_VERSION
    users: dict[str, UserEntry] = Field(default_factory=dict)


class User(BaseModel):
    """A signed-in person: their name (or OIDC e-mail) and role."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role

    def may(self, needed: Role) -> bool:
        return self.role.allows(needed)


def users_path(data_dir: Path) -> Path:
    return data_dir / USERS_FILE


def load_users(path: Path) -> UsersFile:
    if not path.exists():
        return UsersFile()
    try:
        loaded = UsersFile.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise UserError(f"{path} is not a valid users file ({exc.errors()[0]['msg']})") from None
    if loaded.version != USERS_VERSION:
        raise UserError(f"{path}: users file version {loaded.version} is not supported")
    return loaded


def _save(path: Path, users: UsersFile) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(users.model_dump_json(indent=2).encode("utf-8"))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def hash_password(password: str) -> str:
    """argon2id with a fresh random salt: the same password twice gives different hashes."""
    return _HASHER.hash(password)


def add_user(path: Path, name: str, role: Role, password: str | None) -> UserEntry:
    """Create or update a user (a new password replaces the old one)."""
    name = name.strip()
    if not name or any(ch.isspace() for ch in name):
        raise UserError("a user name must be non-empty and contain no spaces")
    if password is not None and len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    users = load_users(path)
    entry = UserEntry(role=role, password_hash=hash_password(password) if password else None)
    users.users[name] = entry
    _save(path, users)
    return entry


def authenticate(path: Path, name: str, password: str) -> User | None:
    """The user when the password is right; None otherwise (same answer for unknown names)."""
    entry = load_users(path).users.get(name.strip())
    if entry is None or entry.password_hash is None:
        _HASHER.hash(password)  # same cost either way: no user-name oracle by timing
        return None
    try:
        _HASHER.verify(entry.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(name=name.strip(), role=entry.role)


def find_user(path: Path, name: str) -> User | None:
    entry = load_users(path).users.get(name)
    return User(name=name, role=entry.role) if entry else None


DEMO_USER = "demo-approver"


def ensure_demo_account(data_dir: Path) -> tuple[str, str]:
    """The demo approver's (name, password): created once with a random password kept in
    ``.flywheel/demo-credentials`` (mode 600), so a second `make demo` prints the same."""
    secret = data_dir / "demo-credentials"
    path = users_path(data_dir)
    if secret.exists() and find_user(path, DEMO_USER) is not None:
        return DEMO_USER, secret.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(9)
    add_user(path, DEMO_USER, Role.approver, password)
    secret.write_text(password + "\n", encoding="utf-8")
    os.chmod(secret, 0o600)
    return DEMO_USER, password
