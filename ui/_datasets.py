"""What the Datasets page shows: replay's case sets (versions and cases) and the living eval
sets of `flywheel.datasets` by role. Rows only: the page renders them as data tables (text)."""

from __future__ import annotations

from typing import Any

from flywheel.datasets import Role, list_cases, role_sizes, set_versions
from flywheel.store import Store
from flywheel.trace import as_text
from replay import Case, ReplayStore

#: Roles whose cases the app lists; the holdout is read only through its guard.
BROWSABLE = tuple(role.value for role in Role if role is not Role.holdout)


def _preview(value: Any, limit: int = 160) -> str:
    text = " ".join(as_text(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def case_set_versions(store: Store) -> list[dict[str, Any]]:
    """Every stored case set version, newest first."""
    rows = ReplayStore(store).list_case_sets()
    return [
        {
            "digest": row["digest"],
            "suite": row["suite"],
            "name": row["name"],
            "cluster": row["cluster_id"] or "",
            "cases": row["size"],
            "created": row["created_at"],
        }
        for row in reversed(rows)
    ]


def _expected(case: Case) -> str:
    found = case.expected.model_dump(exclude_defaults=True)
    return ", ".join(f"{k}={v}" for k, v in found.items())


def case_rows(store: Store, digest: str, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """One page of a case set's cases."""
    cases = ReplayStore(store).case_set(digest).cases[offset : offset + limit]
    return [
        {
            "case": case.case_id,
            "cluster": case.cluster_id or "",
            "stratum": case.stratum or "",
            "input": _preview(case.inputs.get("input", case.inputs)),
            "expected": _expected(case),
            "signals": ", ".join(case.signals),
        }
        for case in cases
    ]


def eval_set_sizes(store: Store) -> dict[str, int]:
    return role_sizes(store)


def eval_versions(store: Store, role: str) -> list[dict[str, Any]]:
    return [
        {
            "version": v.version,
            "cases": v.size,
            "hash": v.content_hash[:12],
            "by": v.actor,
            "reason": v.reason,
            "sign-off": v.signoff_id,
            "at": v.created_at,
        }
        for v in set_versions(store, role)
    ]


def eval_case_rows(store: Store, role: str, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """One page of an eval set's cases (never the holdout's)."""
    cases = list_cases(store, role)[offset : offset + limit]
    return [
        {
            "case": case.case_id,
            "tags": ", ".join(tag.value for tag in case.tags),
            "input": _preview(case.inputs),
            "expected": _preview(case.expected.reference_output or case.expected.checks or ""),
            "cluster": case.origin.cluster_id or "",
            "trace": case.origin.trace_id,
            "added by": case.added_by,
            "added": case.added_at,
        }
        for case in cases
    ]
