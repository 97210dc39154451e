"""Living eval sets: failures come back as tests, forever.

- Cases (`EvalCase`: origin, expected behaviour, tags, who added it when) live in one `Role`
  each: backlog, monitoring, regression, blocking, or the frozen holdout.
- Every change makes a new `SetVersion` of the touched roles (content hash; old versions
  kept); the blocking set changes only with an owner's `SignOff`, chained in an audit log.
- `promote_shipped` puts a shipped fix's cases into the regression set, `sync_backlog` puts
  new failure clusters into the backlog, `regression_cases` gives replay every fixed failure.
- `HoldoutGuard` is the only reader of the holdout: purpose checked, every read logged.
- `verify_datasets` shows tampering (case digests, set hashes, holdout hash, audit chain).
"""

from flywheel.datasets._holdout import (
    REFUSED,
    HoldoutAccessDenied,
    HoldoutGuard,
    HoldoutPurpose,
    HoldoutRead,
    HoldoutTampered,
    holdout_reads,
)
from flywheel.datasets._models import (
    LADDER,
    EvalCase,
    Expected,
    Origin,
    Provenance,
    Role,
    SetVersion,
    ShippedCase,
    SignOff,
    Tag,
)
from flywheel.datasets._promote import (
    BacklogResult,
    PromotionResult,
    promote_shipped,
    regression_cases,
    sync_backlog,
)
from flywheel.datasets._sets import (
    HoldoutProtected,
    SignOffRequired,
    add_case,
    case_id_for,
    current_version,
    get_case,
    list_cases,
    move_case,
    role_sizes,
    set_thresholds,
    set_versions,
)
from flywheel.datasets._verify import VerifyReport, verify_datasets

__all__ = [
    "LADDER",
    "REFUSED",
    "BacklogResult",
    "EvalCase",
    "Expected",
    "HoldoutAccessDenied",
    "HoldoutGuard",
    "HoldoutProtected",
    "HoldoutPurpose",
    "HoldoutRead",
    "HoldoutTampered",
    "Origin",
    "PromotionResult",
    "Provenance",
    "Role",
    "SetVersion",
    "ShippedCase",
    "SignOff",
    "SignOffRequired",
    "Tag",
    "VerifyReport",
    "add_case",
    "case_id_for",
    "current_version",
    "get_case",
    "holdout_reads",
    "list_cases",
    "move_case",
    "promote_shipped",
    "regression_cases",
    "role_sizes",
    "set_thresholds",
    "set_versions",
    "sync_backlog",
    "verify_datasets",
]
