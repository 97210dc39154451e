"""The ledger: one row per provider request or cache hit, summed per run and stage."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

from flywheel.llm._db import Database

Outcome = Literal["ok", "cached", "failed"]


class StageUsage(BaseModel):
    """What one stage (or a whole run) spent. Tokens and cost count provider requests only."""

    calls: int = 0
    cached_calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Dollars, as litellm prices the model; a model it cannot price counts 0 here.
    cost_usd: float = 0.0
    #: Calls whose cost litellm could not compute (an unknown or self-hosted model).
    unpriced_calls: int = 0
    latency_s: float = 0.0


class LedgerSummary(BaseModel):
    run_id: str | None
    stages: dict[str, StageUsage] = Field(default_factory=dict)
    total: StageUsage = Field(default_factory=StageUsage)


class Ledger:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        *,
        run_id: str,
        stage: str,
        model: str,
        outcome: Outcome,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float | None = None,
        latency_s: float = 0.0,
        error: str | None = None,
    ) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                "INSERT INTO calls (run_id, stage, model, outcome, prompt_tokens,"
                " completion_tokens, cost_usd, latency_s, error, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    stage,
                    model,
                    outcome,
                    prompt_tokens,
                    completion_tokens,
                    cost_usd,
                    latency_s,
                    error,
                    time.time(),
                ),
            )

    def spent(self, run_id: str) -> tuple[int, float]:
        """Provider requests made and dollars spent in ``run_id`` so far."""
        with self._db.cursor() as cur:
            row = cur.execute(
                "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM calls"
                " WHERE run_id = ? AND outcome != 'cached'",
                (run_id,),
            ).fetchone()
        return int(row[0]), float(row[1])

    def summary(self, run_id: str | None = None) -> LedgerSummary:
        """Usage per stage of ``run_id``, or of every run when ``None``."""
        where, args = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        with self._db.cursor() as cur:
            rows = cur.execute(
                "SELECT stage,"
                " SUM(outcome != 'cached'), SUM(outcome = 'cached'), SUM(outcome = 'failed'),"
                " SUM(CASE WHEN outcome = 'ok' THEN prompt_tokens ELSE 0 END),"
                " SUM(CASE WHEN outcome = 'ok' THEN completion_tokens ELSE 0 END),"
                " COALESCE(SUM(CASE WHEN outcome = 'ok' THEN cost_usd END), 0),"
                " SUM(outcome = 'ok' AND cost_usd IS NULL),"
                " SUM(CASE WHEN outcome != 'cached' THEN latency_s ELSE 0 END)"
                f" FROM calls {where} GROUP BY stage ORDER BY stage",
                args,
            ).fetchall()
        summary = LedgerSummary(run_id=run_id)
        for stage, *values in rows:
            usage = StageUsage(
                calls=values[0],
                cached_calls=values[1],
                failed_calls=values[2],
                prompt_tokens=values[3],
                completion_tokens=values[4],
                cost_usd=values[5],
                unpriced_calls=values[6],
                latency_s=values[7],
            )
            summary.stages[stage] = usage
            for name in StageUsage.model_fields:
                setattr(summary.total, name, getattr(summary.total, name) + getattr(usage, name))
        return summary
