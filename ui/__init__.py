"""The Streamlit app of Flywheel (`flywheel ui`) over the approval domain (`ui.approvals`).

The pages (``ui/views``) only draw and ask; every rule, decision, audit record and git change
is `ui.approvals`'s, which the CLI (`ui.cli`) calls too. These names are its façade's:

- `register_candidate` puts a gated candidate (`Candidate` with its `GateSummary` and
  `FlippedCase` list) in the approval queue; `CandidateQueue` is how the app reads it.
- `approve`, `reject`, `rollback` apply the rules (`ui.approvals._rules`), change the configuration
  repository (a merge commit with trailers on main, or a revert) and append to the
  hash-chained audit log; the app and the CLI both call them. A candidate gated on an older
  main is re-gated first (`regate_candidate`, `project_regate`: main merged into its branch,
  replay's gate run again; a conflict marks it needs_rework).
- `record_event`, `verify_audit`, `audit_records`: the audit log.
- `add_user`, `authenticate`, `Role`, `User`: local users with argon2 password hashes.
"""

from ui.approvals import (
    AuditCheck,
    AuditRecord,
    Candidate,
    CandidateQueue,
    FlippedCase,
    Forbidden,
    GateSummary,
    Guardrail,
    Interval,
    MergeConflict,
    Outcome,
    Role,
    StaleCandidate,
    StoreQueue,
    User,
    add_user,
    approvals_of,
    approve,
    audit_records,
    authenticate,
    is_stale,
    project_regate,
    record_event,
    regate_candidate,
    regate_on_head,
    register_candidate,
    reject,
    rollback,
    users_path,
    verify_audit,
)

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
