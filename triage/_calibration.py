"""Agreement between the agent and human reviewers: Cohen's kappa, per-category precision and
recall, the confusion matrix, overall and per ISO week.

Kappa is chance-corrected (scikit-learn's ``cohen_kappa_score``): raw agreement flatters an
agent that always answers the most common category. With fewer than two categories in play
kappa is undefined and reported as ``None`` with a note, never as a number. Severity
agreement uses linearly weighted kappa, because S1 against S2 is a smaller miss than S1
against S4.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field


class CalibrationPair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cluster_id: str
    agent: str
    human: str
    agent_severity: str | None = None
    human_severity: str | None = None
    source: str = "offline"
    labelled_at: datetime | None = None


class CategoryScore(BaseModel):
    model_config = ConfigDict(extra="forbid")

    precision: float
    recall: float
    support: int = Field(description="human labels of this category")
    predicted: int = Field(description="agent decisions of this category")


class Agreement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int
    kappa: float | None
    raw_agreement: float | None
    note: str = ""


class CalibrationReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int
    kappa: float | None
    raw_agreement: float | None
    note: str = ""
    per_category: dict[str, CategoryScore]
    confusion: dict[str, dict[str, int]] = Field(
        description="confusion[agent][human]: clusters the agent put in one and humans in the other"
    )
    labels: list[str]
    severity: Agreement | None = None
    by_week: dict[str, Agreement] = Field(default_factory=dict)
    by_source: dict[str, Agreement] = Field(default_factory=dict)


def agreement(
    agent: Sequence[str], human: Sequence[str], *, weights: str | None = None
) -> Agreement:
    from sklearn.metrics import cohen_kappa_score

    n = len(agent)
    if n == 0:
        return Agreement(n=0, kappa=None, raw_agreement=None, note="no labelled clusters yet")
    raw = sum(a == h for a, h in zip(agent, human, strict=True)) / n
    if len(set(agent) | set(human)) < 2:
        return Agreement(
            n=n,
            kappa=None,
            raw_agreement=round(raw, 4),
            note="kappa is undefined with a single category in play",
        )
    kappa = float(cohen_kappa_score(list(agent), list(human), weights=weights))
    return Agreement(n=n, kappa=round(kappa, 4), raw_agreement=round(raw, 4))


def calibrate(pairs: Sequence[CalibrationPair]) -> CalibrationReport:
    """The agreement report over ``pairs`` (one per human label)."""
    from sklearn.metrics import precision_recall_fscore_support

    agent = [p.agent for p in pairs]
    human = [p.human for p in pairs]
    overall = agreement(agent, human)
    labels = sorted(set(agent) | set(human))
    per_category: dict[str, CategoryScore] = {}
    confusion: dict[str, dict[str, int]] = {}
    if pairs:
        precision, recall, _, support = precision_recall_fscore_support(
            human, agent, labels=labels, zero_division=0
        )
        cells = Counter(zip(agent, human, strict=True))
        for i, label in enumerate(labels):
            per_category[label] = CategoryScore(
                precision=round(float(precision[i]), 4),
                recall=round(float(recall[i]), 4),
                support=int(support[i]),
                predicted=agent.count(label),
            )
        confusion = {
            a: {h: cells[a, h] for h in labels if cells[a, h]}
            for a in labels
            if any(cells[a, h] for h in labels)
        }
    severity_pairs = [
        (p.agent_severity, p.human_severity) for p in pairs if p.agent_severity and p.human_severity
    ]
    severity = (
        agreement([a for a, _ in severity_pairs], [h for _, h in severity_pairs], weights="linear")
        if severity_pairs
        else None
    )
    weeks: defaultdict[str, list[CalibrationPair]] = defaultdict(list)
    sources: defaultdict[str, list[CalibrationPair]] = defaultdict(list)
    for pair in pairs:
        weeks[_week(pair.labelled_at)].append(pair)
        sources[pair.source].append(pair)
    return CalibrationReport(
        n=overall.n,
        kappa=overall.kappa,
        raw_agreement=overall.raw_agreement,
        note=overall.note,
        per_category=per_category,
        confusion=confusion,
        labels=labels,
        severity=severity,
        by_week={
            week: agreement([p.agent for p in group], [p.human for p in group])
            for week, group in sorted(weeks.items())
        },
        by_source={
            source: agreement([p.agent for p in group], [p.human for p in group])
            for source, group in sorted(sources.items())
        },
    )


def _week(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"
