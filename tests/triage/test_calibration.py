"""Agreement on known label sets, checked against scikit-learn's reference values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from triage import CalibrationPair, calibrate

AGENT = ["prompt", "prompt", "routing", "routing", "tools", "prompt", "tools", "routing"]
HUMAN = ["prompt", "routing", "routing", "routing", "tools", "prompt", "prompt", "tools"]


def pairs(agent: list[str], human: list[str], week: int = 47) -> list[CalibrationPair]:
    day = datetime.fromisocalendar(2026, week, 1).replace(tzinfo=UTC)
    return [
        CalibrationPair(cluster_id=f"C-{i}", agent=a, human=h, labelled_at=day)
        for i, (a, h) in enumerate(zip(agent, human, strict=True))
    ]


def test_kappa_precision_recall_and_confusion_match_sklearn() -> None:
    report = calibrate(pairs(AGENT, HUMAN))

    assert report.kappa == pytest.approx(cohen_kappa_score(AGENT, HUMAN), abs=1e-4)
    assert report.raw_agreement == 0.625
    assert report.kappa is not None
    assert report.kappa < report.raw_agreement
    labels = ["prompt", "routing", "tools"]
    matrix = confusion_matrix(HUMAN, AGENT, labels=labels)
    for i, agent_label in enumerate(labels):
        for j, human_label in enumerate(labels):
            assert report.confusion[agent_label].get(human_label, 0) == matrix[j, i]
    # prompt: agent said it 3 times, right twice; humans said it 3 times, agent found 2.
    assert report.per_category["prompt"].precision == pytest.approx(2 / 3, abs=1e-4)
    assert report.per_category["prompt"].recall == pytest.approx(2 / 3, abs=1e-4)
    assert report.per_category["tools"].precision == 0.5


def test_kappa_is_chance_corrected_not_raw_agreement() -> None:
    # An agent that always answers the majority class agrees 75% of the time, kappa 0.
    human = ["prompt"] * 6 + ["routing"] * 2
    report = calibrate(pairs(["prompt"] * 8, human))
    assert report.raw_agreement == 0.75
    assert report.kappa == 0.0


def test_one_category_only_leaves_kappa_undefined_and_says_so() -> None:
    report = calibrate(pairs(["prompt"] * 3, ["prompt"] * 3))
    assert report.kappa is None
    assert "undefined" in report.note
    empty = calibrate([])
    assert (empty.n, empty.kappa) == (0, None)


def test_agreement_is_reported_per_week_and_for_severities() -> None:
    early = pairs(AGENT[:4], HUMAN[:4], week=46)
    late = pairs(AGENT[4:], HUMAN[4:], week=47)
    both = [
        p.model_copy(update={"agent_severity": s, "human_severity": h})
        for p, s, h in zip(early + late, ["S1", "S2"] * 4, ["S1", "S3"] * 4, strict=True)
    ]
    report = calibrate(both)
    assert list(report.by_week) == ["2026-W46", "2026-W47"]
    assert report.by_week["2026-W46"].kappa == pytest.approx(
        cohen_kappa_score(AGENT[:4], HUMAN[:4]), abs=1e-4
    )
    assert report.severity is not None
    assert report.severity.kappa == pytest.approx(
        cohen_kappa_score(["S1", "S2"] * 4, ["S1", "S3"] * 4, weights="linear"), abs=1e-4
    )
