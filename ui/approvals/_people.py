"""Changing the users file: who may (the first admin bootstraps, then only an admin), audited."""

from __future__ import annotations

from pathlib import Path

from flywheel.errors import UserError
from flywheel.store import Store
from ui.approvals._audit import record_event
from ui.approvals._users import Role, User, add_user, has_admin, load_users


def may_change_users(path: Path, name: str, role: Role, admin: User | None) -> str:
    """Who is changing the users file (the actor to audit), or `UserError` saying who may.

    A project's first admin is created freely (the bootstrap: the actor is that new admin);
    until then no other role may be added, and afterwards only an authenticated admin adds or
    changes users (``admin``: the caller signed them in).
    """
    if has_admin(path):
        if admin is None:
            raise UserError(
                "the users file has an admin: adding or changing a user needs --as ADMIN "
                "(with that admin's password in FLYWHEEL_PASSWORD or at the prompt)"
            )
        if not admin.may(Role.admin):
            raise UserError(f"{admin.name} is a {admin.role.value}; managing users needs an admin")
        return admin.name
    if role is not Role.admin:
        raise UserError(
            "this project has no admin yet: create one first (`flywheel users add NAME --role "
            "admin`); the admin then adds the others with --as ADMIN"
        )
    return name


def save_user(
    path: Path, store: Store, name: str, role: Role, password: str | None, *, actor: str
) -> bool:
    """Create or change ``name`` (an argon2 hash, never the password) and audit it; True when
    the user existed. ``actor`` comes from `may_change_users`."""
    existed = name.strip() in load_users(path).users
    add_user(path, name, role, password)
    record_event(
        store,
        actor=actor,
        action="user.change" if existed else "user.add",
        subject=name.strip(),
        detail={"role": role.value, "password": password is not None, "bootstrap": actor == name},
    )
    return existed
