"""`verify_datasets`: every case row matches its digest, every role its latest version, the
holdout its chained hash, and the audit chain holds."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select

from flywheel.datasets._audit import audit_entries, chain_problem
from flywheel.datasets._holdout import holdout_problem
from flywheel.datasets._models import Role, body_digest
from flywheel.datasets._sets import current_members, latest_version, role_hash
from flywheel.datasets._tables import EvalCaseRow
from flywheel.store import Store


class VerifyReport(BaseModel):
    ok: bool
    cases: int
    audit_entries: int
    versions: dict[str, int] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)


def verify_datasets(store: Store) -> VerifyReport:
    problems: list[str] = []
    versions: dict[str, int] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(select(EvalCaseRow.case_id, EvalCaseRow.body, EvalCaseRow.digest))
        count = 0
        for case_id, body, digest in rows:
            count += 1
            if body_digest(body) != digest:
                problems.append(f"case {case_id}: content does not match its digest (edited)")
        for role in Role:
            version = latest_version(conn, role)
            members = current_members(conn, role)
            if version is None:
                if members:
                    problems.append(f"{role} set: {len(members)} cases but no recorded version")
                continue
            versions[role.value] = version.version
            if role_hash(role, members, version.thresholds) != version.content_hash:
                problems.append(
                    f"{role} set: content does not match version {version.version}'s hash"
                )
        holdout = holdout_problem(conn)
        if holdout:
            problems.append(holdout)
        entries = audit_entries(conn)
        chain = chain_problem(entries)
        if chain:
            problems.append(chain)
    return VerifyReport(
        ok=not problems,
        cases=count,
        audit_entries=len(entries),
        versions=versions,
        problems=sorted(set(problems)),
    )
