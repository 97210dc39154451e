"""Who may do what. The app and the CLI call these same functions before any decision."""

from __future__ import annotations

from collections.abc import Sequence

from flywheel.errors import UserError
from ui.approvals._users import Role, User

#: Severity whose fix needs this many different approvers.
APPROVERS_NEEDED = {"S1": 2}


class Forbidden(UserError):
    """The signed-in user may not do this; the message says why."""


def require(user: User, needed: Role, action: str) -> None:
    if not user.may(needed):
        raise Forbidden(
            f"{user.name} is a {user.role.value}; {action} needs the {needed.value} role "
            f"(an admin grants it with `flywheel users add {user.name} --role {needed.value}`)"
        )


def approvers_needed(severity: str) -> int:
    return APPROVERS_NEEDED.get(severity.upper(), 1)


def may_decide(user: User) -> bool:
    """Whether ``user`` may approve, reject, re-gate, roll back or queue candidates at all."""
    return user.may(Role.approver)


def may_export(user: User) -> bool:
    return user.may(Role.approver)


def check_export(user: User) -> None:
    require(user, Role.approver, "exporting training data")


def check_label(user: User) -> None:
    require(user, Role.reviewer, "correcting a cluster's triage")


def check_approve(
    user: User, *, author: str, status: str, severity: str, approved_by: Sequence[str]
) -> bool:
    """Raise `Forbidden` unless ``user`` may approve; True when this approval ships the fix."""
    require(user, Role.approver, "approving a candidate")
    if status != "gated":
        raise Forbidden(f"the candidate is {status}, not waiting for a decision")
    if user.name == author:
        raise Forbidden(f"{user.name} authored this candidate and cannot approve it")
    if user.name in approved_by:
        raise Forbidden(
            f"{user.name} already approved this candidate; a {severity} fix needs "
            f"{approvers_needed(severity)} different approvers"
        )
    return len(set(approved_by)) + 1 >= approvers_needed(severity)


def check_regate(user: User, *, status: str) -> None:
    require(user, Role.approver, "re-gating a candidate")
    if status != "gated":
        raise Forbidden(f"the candidate is {status}, not waiting for a decision")


def check_reject(user: User, *, status: str) -> None:
    require(user, Role.approver, "rejecting a candidate")
    if status != "gated":
        raise Forbidden(f"the candidate is {status}, not waiting for a decision")


def check_rollback(user: User, *, status: str) -> None:
    require(user, Role.approver, "rolling back a shipped fix")
    if status != "shipped":
        raise Forbidden(f"the candidate is {status}; only a shipped fix can be rolled back")
