"""The Streamlit app of Flywheel (`flywheel ui`) and the decisions it records.

- `register_candidate` puts a gated candidate (`Candidate` with its `GateSummary` and
  `FlippedCase` list) in the approval queue; `CandidateQueue` is how the app reads it.
- `approve`, `reject`, `rollback` apply the rules (`ui._rules`), change the configuration
  repository (a merge commit with trailers on main, or a revert) and append to the
  hash-chained audit log; the app and the CLI both call them.
- `record_event`, `verify_audit`, `audit_records`: the audit log.
- `add_user`, `authenticate`, `Role`, `User`: local users with argon2 password hashes.
"""

from ui._approvals import Outcome, StaleCandidate, approvals_of, approve, reject, rollback
from ui._audit import AuditCheck, AuditRecord, audit_records, record_event, verify_audit
from ui._candidates import (
    Candidate,
    CandidateQueue,
    FlippedCase,
    GateSummary,
    Guardrail,
    Interval,
    StoreQueue,
    register_candidate,
)
from ui._rules import Forbidden
from ui._users import Role, User, add_user, authenticate, users_path

__all__ = [
    "AuditCheck",
    "AuditRecord",
    "Candidate",
    "CandidateQueue",
    "FlippedCase",
    "Forbidden",
    "GateSummary",
    "Guardrail",
    "Interval",
    "Outcome",
    "Role",
    "StaleCandidate",
    "StoreQueue",
    "User",
    "add_user",
    "approvals_of",
    "approve",
    "audit_records",
    "authenticate",
    "record_event",
    "register_candidate",
    "reject",
    "rollback",
    "users_path",
    "verify_audit",
]
