"""Which root causes configuration can fix, with which kind of fix, and who owns the rest.

One source of truth: triage's taxonomy (`triage.Taxonomy`, extensible by ``triage.toml``).
A cluster's own triage verdict (`ClusterInput.fixable`, ``fix_type``, ``owner``) wins; these
are the fall-backs when a verdict leaves a field out.
"""

from __future__ import annotations

from triage import RootCause, Taxonomy

_TAXONOMY = Taxonomy()


def _cause(root_cause: str) -> RootCause | None:
    return _TAXONOMY.root_causes.get(root_cause)


def is_config_fixable(root_cause: str) -> bool:
    cause = _cause(root_cause)
    return cause is not None and cause.optimizer_fixable


def owner_of(root_cause: str) -> str:
    cause = _cause(root_cause)
    return cause.owner if cause is not None else "unassigned"


def first_fix_type(root_cause: str) -> str | None:
    """The taxonomy's preferred fix type for a root cause (triage's vocabulary)."""
    cause = _cause(root_cause)
    return cause.fix_types[0] if cause is not None and cause.fix_types else None
