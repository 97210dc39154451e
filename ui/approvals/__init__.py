"""The approval domain: who may do what, the queue of gated fixes, decisions, shipping, audit.

The Streamlit pages (`ui.views`) and the CLI (`ui.cli`) both call these names and nothing
below them; a page only draws what they return and asks what the person wants. Nothing here
imports Streamlit (an import-linter contract in pyproject.toml keeps it so).

- `ApprovalDesk` is the project's desk: `approve`, `reject`, `rollback`, `regate`, `sync`
  with the project's re-gate and origin hooks wired in, and `decision_view` (what an approval
  by this person would do now: approvals that count, how many are needed under the cluster's
  *current* severity, whether it ships, staleness, why it is refused).
- `approve`, `reject`, `rollback`, `regate_candidate` are the same decisions as plain
  functions (the caller supplies the hooks); `ui.approvals._rules` are the rules they apply.
- `register_candidate` puts a gated candidate (`Candidate` with its `GateSummary` and
  `FlippedCase` list) in the approval queue; `StoreQueue` reads it.
- `record_event`, `verify_audit`, `audit_records`: the hash-chained audit log.
- `add_user`, `authenticate`, `password_sign_in`, `Role`, `User`: people and sign-in.
- `correct_triage`, `triage_views`: a reviewer's correction of a cluster's triage.
- `run_export`: a training-data export by an approver.
"""

from ui.approvals._audit import (
    AuditCheck,
    AuditRecord,
    anchor_chains,
    audit_records,
    record_event,
    verify_audit,
)
from ui.approvals._candidates import (
    Candidate,
    CandidateQueue,
    FlippedCase,
    GateSummary,
    Guardrail,
    Interval,
    StoreQueue,
    register_candidate,
)
from ui.approvals._decisions import (
    Outcome,
    StaleCandidate,
    approvals_of,
    approve,
    is_stale,
    regate_candidate,
    reject,
    rollback,
    ship_of,
)
from ui.approvals._desk import ApprovalDesk, DecisionView, SyncReport
from ui.approvals._exports import KINDS, ExportFile, exported_files, exports_dir, run_export
from ui.approvals._git import MergeConflict
from ui.approvals._import import decision_hook, import_gated
from ui.approvals._lockout import SignIn, SignInGuard, password_sign_in
from ui.approvals._people import may_change_users, save_user
from ui.approvals._regate import project_regate, regate_on_head
from ui.approvals._revisions import GateRevision, revisit_gate_revisions
from ui.approvals._rules import (
    Forbidden,
    approvers_needed,
    check_label,
    may_decide,
    may_export,
)
from ui.approvals._triage import (
    SEVERITIES,
    TriageView,
    correct_triage,
    owners,
    taxonomy,
    triage_views,
)
from ui.approvals._users import (
    Role,
    User,
    add_user,
    authenticate,
    ensure_demo_account,
    find_user,
    has_admin,
    load_users,
    sign_in,
    users_path,
)

__all__ = [
    "KINDS",
    "SEVERITIES",
    "ApprovalDesk",
    "AuditCheck",
    "AuditRecord",
    "Candidate",
    "CandidateQueue",
    "DecisionView",
    "ExportFile",
    "FlippedCase",
    "Forbidden",
    "GateRevision",
    "GateSummary",
    "Guardrail",
    "Interval",
    "MergeConflict",
    "Outcome",
    "Role",
    "SignIn",
    "SignInGuard",
    "StaleCandidate",
    "StoreQueue",
    "SyncReport",
    "TriageView",
    "User",
    "add_user",
    "anchor_chains",
    "approvals_of",
    "approve",
    "approvers_needed",
    "audit_records",
    "authenticate",
    "check_label",
    "correct_triage",
    "decision_hook",
    "ensure_demo_account",
    "exported_files",
    "exports_dir",
    "find_user",
    "has_admin",
    "import_gated",
    "is_stale",
    "load_users",
    "may_change_users",
    "may_decide",
    "may_export",
    "owners",
    "password_sign_in",
    "project_regate",
    "record_event",
    "regate_candidate",
    "regate_on_head",
    "register_candidate",
    "reject",
    "revisit_gate_revisions",
    "rollback",
    "run_export",
    "save_user",
    "ship_of",
    "sign_in",
    "taxonomy",
    "triage_views",
    "users_path",
    "verify_audit",
]
