"""Priority: severity x volume x week-over-week growth x fixability, explained in words.

``priority = severity_weight * log2(1 + traces) * growth_factor * fixability_factor``, where
severity weights are S1 8, S2 4, S3 2, S4 1; growth is last week's count over the week
before (clamped to [-50 %, +200 %]; unknown with fewer than two weeks of data, factor 1);
a cluster the optimizer may fix by configuration counts 1.5x (cheap to act on now), one
handed to another team 1x. The score only orders clusters; the words say why.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

SEVERITY_WEIGHT = {"S1": 8.0, "S2": 4.0, "S3": 2.0, "S4": 1.0}
FIXABLE_FACTOR = 1.5


class Priority(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float
    explanation: str


def prioritise(*, severity: str, traces: int, growth: float | None, fixable: bool) -> Priority:
    weight = SEVERITY_WEIGHT.get(severity, 1.0)
    volume = math.log2(1 + max(traces, 0))
    if growth is None:
        growth_factor = 1.0
        growth_words = "growth unknown (less than two weeks of data)"
    else:
        clamped = max(-0.5, min(2.0, growth))
        growth_factor = 1.0 + clamped
        growth_words = f"{growth:+.0%} week over week"
    fix_factor = FIXABLE_FACTOR if fixable else 1.0
    score = round(weight * volume * growth_factor * fix_factor, 2)
    fix_words = (
        "fixable by configuration (x1.5)" if fixable else "handed to its owner (no config fix)"
    )
    explanation = (
        f"{severity} (x{weight:g}) x {traces} trace(s) (log2 volume {volume:.1f}) x "
        f"{growth_words} (x{growth_factor:.2f}) x {fix_words} = {score}"
    )
    return Priority(score=score, explanation=explanation)
