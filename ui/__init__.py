"""The Streamlit app of Flywheel (`flywheel ui`) and the decisions it records.

- `register_candidate` puts a gated candidate (`Candidate` with its `GateSummary` and
  `FlippedCase` list) in the approval queue; `CandidateQueue` is how the app reads it.
- `approve`, `reject`, `rollback` apply the rules (`ui._rules`), change the configuration
  repository (a merge commit with trailers on main, or a revert) and append to the
  hash-chained audit log; the app and the CLI both call them. A candidate gated on an older
  main is re-gated first (`regate_candidate`, `project_regate`: main merged into its branch,
  replay's gate run again; a conflict marks it needs_rework).
- `record_event`, `verify_audit`, `audit_records`: the audit log.
- `add_user`, `authenticate`, `Role`, `User`: local users with argon2 password hashes.
"""

from ui._approvals import (
    Outcome,
    StaleCandidate,
    approvals_of,
    approve,
    is_stale,
    regate_candidate,
    reject,
    rollback,
)
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
from ui._git import MergeConflict
from ui._regate import project_regate, regate_on_head
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
    "MergeConflict",
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
    "is_stale",
    "project_regate",
    "record_event",
    "regate_candidate",
    "regate_on_head",
    "register_candidate",
    "reject",
    "rollback",
    "users_path",
    "verify_audit",
]
