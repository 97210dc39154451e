"""The domain's name for `flywheel.users` (users, roles, sign-in and the trust model).

The users file and its checks live in the core so that every command that names a person
(``--as``, ``--reviewer``, ``--signoff``) authenticates them the same way.
"""

from __future__ import annotations

from flywheel.users import (
    DEMO_USER,
    PASSWORD_ENV,
    Role,
    User,
    UserEntry,
    UsersFile,
    add_user,
    authenticate,
    ensure_automated_account,
    ensure_demo_account,
    find_user,
    has_admin,
    hash_password,
    known_user,
    load_users,
    save_credential,
    sign_in,
    sign_in_automated,
    stored_credential,
    users_path,
)

__all__ = [
    "DEMO_USER",
    "PASSWORD_ENV",
    "Role",
    "User",
    "UserEntry",
    "UsersFile",
    "add_user",
    "authenticate",
    "ensure_automated_account",
    "ensure_demo_account",
    "find_user",
    "has_admin",
    "hash_password",
    "known_user",
    "load_users",
    "save_credential",
    "sign_in",
    "sign_in_automated",
    "stored_credential",
    "users_path",
]
