"""Baseline and candidate results of one case set, paired case by case."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from flywheel.errors import UserError
from replay._models import CaseResult, CaseSet, Status


@dataclass(frozen=True)
class Side:
    """One configuration's results, one row per case (repeats aggregated)."""

    #: Share of the case's non-error repeats that passed (NaN when every repeat errored).
    pass_rate: NDArray[np.float64]
    latency_ms: NDArray[np.float64]
    cost_usd: NDArray[np.float64]
    tool_calls: NDArray[np.float64]
    errors: int
    runs: int
    errors_by_kind: dict[str, int]

    @property
    def error_rate(self) -> float:
        return self.errors / self.runs if self.runs else 0.0


@dataclass(frozen=True)
class PairedSuite:
    """A case set's baseline and candidate results, aligned by case."""

    case_ids: list[str]
    sessions: list[str]
    clusters: list[str | None]
    baseline: Side
    candidate: Side

    @property
    def valid(self) -> NDArray[np.bool_]:
        """Cases judged on both sides (at least one non-error repeat each)."""
        return np.asarray(~np.isnan(self.baseline.pass_rate) & ~np.isnan(self.candidate.pass_rate))

    def subset(self, keep: NDArray[np.bool_]) -> PairedSuite:
        def side(s: Side) -> Side:
            return Side(
                s.pass_rate[keep],
                s.latency_ms[keep],
                s.cost_usd[keep],
                s.tool_calls[keep],
                s.errors,
                s.runs,
                s.errors_by_kind,
            )

        idx = np.nonzero(keep)[0]
        return PairedSuite(
            [self.case_ids[i] for i in idx],
            [self.sessions[i] for i in idx],
            [self.clusters[i] for i in idx],
            side(self.baseline),
            side(self.candidate),
        )


def pair_results(
    case_set: CaseSet, baseline: Sequence[CaseResult], candidate: Sequence[CaseResult]
) -> PairedSuite:
    """Align two replays of ``case_set``; they must cover exactly the same (case, repeat) keys."""
    keys_b = {(r.case_digest, r.repeat) for r in baseline}
    keys_c = {(r.case_digest, r.repeat) for r in candidate}
    if keys_b != keys_c:
        raise UserError(
            f"baseline and candidate did not run the same cases and repeats on case set "
            f"{case_set.digest[:12]} ({len(keys_b)} vs {len(keys_c)} results); replay both "
            "with the same --repeats"
        )
    cases = case_set.cases
    return PairedSuite(
        [c.case_id for c in cases],
        [c.session_id or f"case:{c.case_id}" for c in cases],
        [c.cluster_id for c in cases],
        _side(case_set, baseline),
        _side(case_set, candidate),
    )


def _side(case_set: CaseSet, results: Sequence[CaseResult]) -> Side:
    by_case: dict[str, list[CaseResult]] = defaultdict(list)
    kinds: dict[str, int] = defaultdict(int)
    for result in results:
        by_case[result.case_digest].append(result)
        if result.status is Status.error:
            kinds[result.error_kind or "unknown"] += 1
    n = len(case_set.cases)
    arrays = {name: np.full(n, np.nan) for name in ("pass", "latency", "cost", "tools")}
    for i, case in enumerate(case_set.cases):
        ok = [r for r in by_case.get(case.digest, []) if r.status is not Status.error]
        if not ok:
            continue
        arrays["pass"][i] = np.mean([r.status is Status.passed for r in ok])
        arrays["latency"][i] = np.mean([r.latency_ms or 0.0 for r in ok])
        arrays["cost"][i] = np.mean([r.cost_usd or 0.0 for r in ok])
        arrays["tools"][i] = np.mean([r.tool_calls or 0 for r in ok])
    return Side(
        arrays["pass"],
        arrays["latency"],
        arrays["cost"],
        arrays["tools"],
        errors=sum(kinds.values()),
        runs=len(results),
        errors_by_kind=dict(kinds),
    )
