"""`ReplayStore`: case sets, runs, per-case results and gate decisions in the project database."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection, Engine, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import utcnow
from flywheel.trace import Trace
from replay._models import (
    REPLAY_SCHEMA_VERSION,
    Case,
    CaseResult,
    CaseSet,
    Check,
    ConfigRef,
    Status,
    Suite,
)
from replay._tables import (
    CaseRow,
    CaseSetRow,
    GateDecisionRow,
    ReplayResultRow,
    ReplayRunRow,
)

ResultKey = tuple[str, int]  # (case digest, repeat) under one configuration
_CHECKS: TypeAdapter[tuple[Check, ...]] = TypeAdapter(tuple[Check, ...])


class ReplayStore:
    """Replay's view of a Flywheel `Store` (same engine, its own tables)."""

    def __init__(self, store: Store | Engine) -> None:
        self.engine: Engine = store.engine if isinstance(store, Store) else store

    # -- case sets -------------------------------------------------------------------------

    def save_case_set(self, case_set: CaseSet) -> str:
        """Store a case set version; saving equal content again is a no-op. Returns the digest."""
        digest = case_set.digest
        with self.engine.begin() as conn:
            if conn.execute(select(CaseSetRow.digest).where(CaseSetRow.digest == digest)).first():
                return digest
            conn.execute(
                insert(CaseSetRow).values(
                    digest=digest,
                    name=case_set.name,
                    suite=case_set.suite.value,
                    cluster_id=case_set.cluster_id,
                    size=len(case_set.cases),
                    detail=case_set.detail,
                    schema_version=REPLAY_SCHEMA_VERSION,
                    created_at=utcnow(),
                )
            )
            if case_set.cases:
                conn.execute(
                    insert(CaseRow),
                    [
                        {
                            "set_digest": digest,
                            "position": i,
                            "case_id": case.case_id,
                            "case_digest": case.digest,
                            "payload": case.model_dump(mode="json"),
                        }
                        for i, case in enumerate(case_set.cases)
                    ],
                )
        return digest

    def case_set(self, digest: str) -> CaseSet:
        """A stored case set by digest (a unique prefix of at least 6 characters is enough)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CaseSetRow).where(CaseSetRow.digest.startswith(digest)).limit(2)
            ).all()
            if len(rows) != 1 or len(digest) < 6:
                raise UserError(
                    f"no single case set '{digest}'; list them with `flywheel cases list`"
                )
            row = rows[0]
            cases = conn.execute(
                select(CaseRow.payload)
                .where(CaseRow.set_digest == row.digest)
                .order_by(CaseRow.position)
            ).scalars()
            return CaseSet(
                name=row.name,
                suite=Suite(row.suite),
                cluster_id=row.cluster_id,
                cases=tuple(Case.model_validate(payload) for payload in cases),
                detail=row.detail,
            )

    def latest_case_set(self, suite: Suite, cluster_id: str | None = None) -> CaseSet | None:
        query = select(CaseSetRow.digest).where(CaseSetRow.suite == suite.value)
        if cluster_id is not None:
            query = query.where(CaseSetRow.cluster_id == cluster_id)
        query = query.order_by(CaseSetRow.created_at.desc(), CaseSetRow.digest).limit(1)
        with self.engine.connect() as conn:
            digest = conn.execute(query).scalar()
        return None if digest is None else self.case_set(digest)

    def list_case_sets(self, suite: Suite | None = None) -> list[dict[str, Any]]:
        query = select(
            CaseSetRow.digest,
            CaseSetRow.name,
            CaseSetRow.suite,
            CaseSetRow.cluster_id,
            CaseSetRow.size,
            CaseSetRow.created_at,
        ).order_by(CaseSetRow.created_at, CaseSetRow.digest)
        if suite is not None:
            query = query.where(CaseSetRow.suite == suite.value)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- runs and results ------------------------------------------------------------------

    def start_run(
        self,
        *,
        label: str,
        config: ConfigRef,
        config_digest: str,
        set_digest: str,
        repeats: int,
        candidate_id: str | None = None,
    ) -> str:
        run_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                insert(ReplayRunRow).values(
                    id=run_id,
                    label=label,
                    candidate_id=candidate_id,
                    config_digest=config_digest,
                    config_dir=str(config.directory),
                    config_commit=config.commit,
                    set_digest=set_digest,
                    repeats=repeats,
                    status="running",
                    started_at=utcnow(),
                    counts={},
                )
            )
        return run_id

    def interrupted_run(self, config_digest: str, set_digest: str) -> str | None:
        """The run of this configuration on this set left ``running`` by a killed replay.

        The same replay starting again resumes it (its results are kept per case, so only what
        it left is redone) and finishes it, whether or not anything is left to run: a kill
        after the last result but before the run was finished would otherwise leave it
        running forever, or leave no completed run at all. Older runs left running (two kills
        in a row) are marked ``abandoned``; the newest one is resumed.
        """
        with self.engine.begin() as conn:
            ids = list(
                conn.scalars(
                    select(ReplayRunRow.id)
                    .where(
                        ReplayRunRow.status == "running",
                        ReplayRunRow.config_digest == config_digest,
                        ReplayRunRow.set_digest == set_digest,
                    )
                    .order_by(ReplayRunRow.started_at.desc(), ReplayRunRow.id)
                )
            )
            if len(ids) > 1:
                conn.execute(
                    update(ReplayRunRow)
                    .where(ReplayRunRow.id.in_(ids[1:]))
                    .values(status="abandoned", finished_at=utcnow())
                )
        return ids[0] if ids else None

    def finish_run(self, run_id: str, status: str, counts: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(ReplayRunRow)
                .where(ReplayRunRow.id == run_id)
                .values(status=status, finished_at=utcnow(), counts=counts)
            )

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        query = select(ReplayRunRow).order_by(ReplayRunRow.started_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def write_results(self, run_id: str, results: Sequence[CaseResult]) -> None:
        """Persist finished results in one transaction (an already stored key is kept)."""
        with self.engine.connect() as conn:
            _insert_results(conn, run_id, results)

    def result_writer(self, run_id: str) -> ResultWriter:
        """A writer of one run's results over one connection (for the harness's writer thread)."""
        return ResultWriter(self.engine, run_id)

    def delete_results(self, config_digest: str, keys: Sequence[ResultKey]) -> None:
        """Forget stored results (errors about to be retried)."""
        with self.engine.begin() as conn:
            for case_digest, repeat in keys:
                conn.execute(
                    delete(ReplayResultRow).where(
                        ReplayResultRow.config_digest == config_digest,
                        ReplayResultRow.case_digest == case_digest,
                        ReplayResultRow.repeat == repeat,
                    )
                )

    def replace_results(self, run_id: str, results: Sequence[CaseResult]) -> None:
        """Overwrite stored results (a cached trace re-scored with other scorers)."""
        with self.engine.begin() as conn:
            for result in results:
                conn.execute(
                    delete(ReplayResultRow).where(
                        ReplayResultRow.config_digest == result.config_digest,
                        ReplayResultRow.case_digest == result.case_digest,
                        ReplayResultRow.repeat == result.repeat,
                    )
                )
            if results:
                conn.execute(insert(ReplayResultRow), [_result_row(run_id, r) for r in results])

    def results(
        self, config_digest: str, case_digests: Iterable[str], *, with_traces: bool = False
    ) -> dict[ResultKey, CaseResult]:
        """Stored results of a configuration for these cases, by (case digest, repeat)."""
        wanted = list(dict.fromkeys(case_digests))
        found: dict[ResultKey, CaseResult] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = select(ReplayResultRow).where(
                    ReplayResultRow.config_digest == config_digest,
                    ReplayResultRow.case_digest.in_(chunk),
                )
                for row in conn.execute(query):
                    found[(row.case_digest, row.repeat)] = _result(row, with_traces=with_traces)
        return found

    # -- gate decisions and fixed failures ---------------------------------------------------

    def save_gate_decision(
        self,
        report: dict[str, Any],
        *,
        cluster_id: str | None,
        p_value: float | None,
        baseline_digest: str,
        candidate_digest: str,
    ) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(GateDecisionRow).values(
                    candidate_id=report["candidate_id"],
                    cluster_id=cluster_id,
                    decision=report["decision"],
                    p_value=p_value,
                    baseline_digest=baseline_digest,
                    candidate_digest=candidate_digest,
                    report=report,
                    created_at=utcnow(),
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def cluster_p_values(self, cluster_id: str) -> dict[str, float]:
        """The latest raw p-value of every gated candidate of a cluster, over every slice
        version (the gate's Holm family is narrower: `replay._family.family_p_values`)."""
        query = (
            select(GateDecisionRow.candidate_id, GateDecisionRow.p_value)
            .where(GateDecisionRow.cluster_id == cluster_id)
            .order_by(GateDecisionRow.id)
        )
        with self.engine.connect() as conn:
            latest: dict[str, float | None] = {row[0]: row[1] for row in conn.execute(query)}
        return {cid: p for cid, p in latest.items() if p is not None}

    def gate_decisions(self, candidate_id: str | None = None) -> list[dict[str, Any]]:
        query = select(GateDecisionRow).order_by(GateDecisionRow.id)
        if candidate_id is not None:
            query = query.where(GateDecisionRow.candidate_id == candidate_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


class ResultWriter:
    """Commits batches of one run's results over one connection, held until `close`.

    Checking a connection out of the pool and back (a rollback on return) for every batch
    cost about as much CPU as the insert itself; the harness commits hundreds of batches.
    Use it from one thread.
    """

    def __init__(self, engine: Engine, run_id: str) -> None:
        self._engine, self.run_id = engine, run_id
        self._conn: Connection | None = None

    def write(self, results: Sequence[CaseResult]) -> None:
        """Persist ``results`` in one transaction, committed before this returns."""
        if self._conn is None:
            self._conn = self._engine.connect()
        try:
            _insert_results(self._conn, self.run_id, results)
        except BaseException:
            self.close()  # a broken connection is not reused
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _insert_results(conn: Connection, run_id: str, results: Sequence[CaseResult]) -> None:
    rows = [_result_row(run_id, result) for result in results]
    if not rows:
        return
    table = _core_table(ReplayResultRow)  # Core executemany: the ORM layer costs ~30 % here
    try:
        with conn.begin():
            conn.execute(table.insert(), rows)
    except IntegrityError:  # another run stored some of them first: keep theirs
        for row in rows:
            try:
                with conn.begin():
                    conn.execute(table.insert(), [row])
            except IntegrityError:
                continue


def _core_table(model: type[Any]) -> Table:
    """The Core table of a mapped class (typed for mypy)."""
    table: Table = model.__table__
    return table


def _result_row(run_id: str, result: CaseResult) -> dict[str, Any]:
    trace = None if result.trace is None else zlib.compress(result.trace.to_json(), 1)
    return {
        "config_digest": result.config_digest,
        "case_digest": result.case_digest,
        "repeat": result.repeat,
        "case_id": result.case_id,
        "run_id": run_id,
        "status": result.status.value,
        "error_kind": result.error_kind,
        "error": result.error,
        "checks": _CHECKS.dump_python(result.checks, mode="json"),  # one call, not one a check
        "scorer_key": result.scorer_key,
        "session_id": result.session_id,
        "latency_ms": result.latency_ms,
        "cost_usd": result.cost_usd,
        "tool_calls": result.tool_calls,
        "duration_s": result.duration_s,
        "trace": trace,
        "created_at": utcnow(),
    }


def _result(row: Any, *, with_traces: bool) -> CaseResult:
    trace = None
    if with_traces and row.trace is not None:
        trace = Trace.model_validate_json(zlib.decompress(row.trace))
    return CaseResult(
        config_digest=row.config_digest,
        case_digest=row.case_digest,
        case_id=row.case_id,
        repeat=row.repeat,
        status=Status(row.status),
        error_kind=row.error_kind,
        error=row.error,
        checks=tuple(Check.model_validate(c) for c in row.checks),
        scorer_key=row.scorer_key,
        session_id=row.session_id,
        latency_ms=row.latency_ms,
        cost_usd=row.cost_usd,
        tool_calls=row.tool_calls,
        duration_s=row.duration_s,
        trace=trace,
    )
