"""Flywheel users and how a command proves it acts for one: the trust model.

Users live in a JSON file in the project's data folder (``.flywheel/users.json``): names,
roles and salted argon2id password hashes, written atomically with owner-only permissions and
a format version. Users who sign in through OIDC are looked up here by e-mail for their role
(an entry without a password).

**Trust model.** Neither the CLI nor the app trusts the shell user or a typed name. Every
command that acts *as* a Flywheel user (``flywheel approve|reject|rollback|queue regate
--as NAME``, ``flywheel triage label --reviewer NAME``, ``flywheel datasets ... --actor NAME``,
``flywheel export ... --actor NAME`` and ``--signoff NAME``) authenticates NAME with NAME's
own secret, looked for in this order (`sign_in`):

1. standard input, when the command is given ``--password-stdin``;
2. the environment variable ``FLYWHEEL_PASSWORD``;
3. a stored credential ``.flywheel/credentials/NAME`` (mode 0600, owned by the OS user running
   the command): written only for automated accounts the project creates itself (the demo
   approver of ``flywheel ui --demo-account`` and the demo's ``--auto-approve-as`` bots);
4. an interactive prompt, when standard input is a terminal.

A wrong or missing secret is a one-line refusal; nothing falls back to ``$USER``. (A
``datasets`` change or an ``export`` made without ``--actor`` is recorded as ``os:LOGIN``,
the OS account, which no Flywheel user name can be mistaken for; a triage label needs a
signed-in reviewer.) So two approvals of an S1 fix come from two accounts whose secrets were
both presented; the audit records each approval's ``via`` (stdin, env, stored-credential,
prompt, session, oidc). The app's sign-in form and OIDC are the same check for the browser.

``flywheel users add`` creates the first user freely (bootstrap); once the file holds an
admin, creating or changing a user needs ``--as ADMIN`` authenticated the same way. What this
cannot stop: the OS account that owns ``.flywheel`` can edit the users file directly. The
audit chains' anchors (`flywheel.chain`) make such tampering with decisions visible, not
impossible; give each approver their own OS account and project checkout (or the app behind
OIDC) when two-person approval must hold against a single operator.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flywheel.errors import UserError
from flywheel.private import private_dir
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
    #: How this user proved who they are (stdin, env, stored-credential, prompt, session,
    #: oidc); "" when a trusted caller of the library made the object.
    via: str = ""

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
    private_dir(path.parent)
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


#: The environment variable a script sets to the password of the user it acts as.
PASSWORD_ENV = "FLYWHEEL_PASSWORD"
#: Stored credentials of the project's automated accounts (one 0600 file per user).
CREDENTIALS_DIR = "credentials"


def _credential_path(data_dir: Path, name: str) -> Path:
    if not name or "/" in name or name.startswith(".") or any(ch.isspace() for ch in name):
        raise UserError(f"'{name}' is not a valid user name")
    return data_dir / CREDENTIALS_DIR / name


def save_credential(data_dir: Path, name: str, password: str) -> Path:
    """Keep an automated account's password for `sign_in` (a 0600 file in a 0700 folder)."""
    path = _credential_path(data_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    os.chmod(path, 0o600)
    return path


def stored_credential(data_dir: Path, name: str) -> str | None:
    """The stored password of ``name``; None when there is none. A file others may read, or
    that another OS user owns, is refused rather than trusted."""
    path = _credential_path(data_dir, name)
    if not path.is_file() or path.is_symlink():
        return None
    info = path.stat()
    if info.st_mode & 0o077 or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise UserError(
            f"{path}: a stored credential must be owned by you with mode 600 (chmod 600 {path})"
        )
    return path.read_text(encoding="utf-8").strip()


def _stdin_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _prompt_password(name: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    import getpass

    return getpass.getpass(f"Password for {name}: ")


def sign_in(
    data_dir: Path,
    name: str,
    *,
    password_stdin: bool = False,
    interactive: bool = True,
    prompt: Callable[[str], str | None] = _prompt_password,
) -> User:
    """Authenticate ``name`` from the sources of the trust model (see the module docstring).

    Raises `UserError` for an unknown name, a missing secret or a wrong one.
    """
    path = users_path(data_dir)
    name = name.strip()
    entry = load_users(path).users.get(name)
    if entry is None:
        raise UserError(f"no user '{name}'; an admin adds one with `flywheel users add {name}`")
    password: str | None
    via = ""
    if password_stdin:
        password, via = _stdin_password(), "stdin"
    elif os.environ.get(PASSWORD_ENV):
        password, via = os.environ[PASSWORD_ENV], "env"
    else:
        password = stored_credential(data_dir, name)
        via = "stored-credential"
        if password is None and interactive:
            password, via = prompt(name), "prompt"
    if password is None:
        raise UserError(
            f"acting as {name} needs {name}'s password: pass --password-stdin, set "
            f"{PASSWORD_ENV}, or run the command in a terminal"
        )
    user = authenticate(path, name, password)
    if user is None:
        raise UserError(f"wrong password for {name} (from {via}); nothing was done")
    return user.model_copy(update={"via": via})


def os_account() -> str:
    """The OS account running the command, as ``os:LOGIN``: a record of who ran it that no
    Flywheel user name can be mistaken for (``$USER`` is anyone's to set, so it never names a
    Flywheel user)."""
    import getpass

    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):
        return "os:unknown"


def acting_as(data_dir: Path, actor: str | None, *, password_stdin: bool = False) -> str:
    """Who a change or a read is recorded as: ``actor`` (``--actor NAME``) signed in with
    their own secret (`sign_in`), or, without one, `os_account`."""
    if actor:
        return sign_in(data_dir, actor, password_stdin=password_stdin).name
    return os_account()


def sign_in_automated(data_dir: Path, name: str) -> User:
    """An automated account (``--auto-approve-as``) signed in with its stored credential only."""
    password = stored_credential(data_dir, name.strip())
    if password is None:
        raise UserError(
            f"automated approver '{name}' has no stored credential in "
            f"{data_dir / CREDENTIALS_DIR}; `flywheel demo run --auto-approve-as {name}` "
            "creates one"
        )
    user = authenticate(users_path(data_dir), name, password)
    if user is None:
        raise UserError(f"the stored credential of '{name}' does not match its password")
    return user.model_copy(update={"via": "stored-credential"})


def known_user(data_dir: Path, name: str) -> User:
    """The user named ``name`` in the users file; `UserError` naming how to add one."""
    user = find_user(users_path(data_dir), name.strip())
    if user is None:
        raise UserError(f"no user '{name}'; an admin adds one with `flywheel users add {name}`")
    return user


def has_admin(path: Path) -> bool:
    return any(entry.role is Role.admin for entry in load_users(path).users.values())


DEMO_USER = "demo-approver"


def ensure_demo_account(data_dir: Path) -> tuple[str, str]:
    """The demo approver's (name, password): created once with a random password kept as its
    stored credential, so a second `make demo` prints the same and `flywheel approve ID --as
    demo-approver` signs in without a prompt."""
    legacy = data_dir / "demo-credentials"  # where demo projects made before kept it
    if legacy.is_file() and stored_credential(data_dir, DEMO_USER) is None:
        password = legacy.read_text(encoding="utf-8").strip()
        if authenticate(users_path(data_dir), DEMO_USER, password) is not None:
            save_credential(data_dir, DEMO_USER, password)
            legacy.unlink()
    return DEMO_USER, ensure_automated_account(data_dir, DEMO_USER)


def ensure_automated_account(data_dir: Path, name: str, role: Role = Role.approver) -> str:
    """An account the project drives itself (demo approver, `--auto-approve-as` bots): created
    once with a random password kept as its stored credential; the password.

    A user of that name that has no stored credential is a person: refused, never taken over.
    """
    path = users_path(data_dir)
    existing = find_user(path, name)
    stored = stored_credential(data_dir, name)
    if existing is not None and stored is not None and authenticate(path, name, stored):
        return stored
    if existing is not None:
        raise UserError(
            f"'{name}' is a user without a stored credential (a person?); choose another name "
            "for the automated approver"
        )
    password = secrets.token_urlsafe(18)
    add_user(path, name, role, password)
    save_credential(data_dir, name, password)
    return password
