"""What a score means: direction and threshold per name, built-in evaluator names, the check
that an ingest's scores agree with their configured direction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from flywheel.config import ScoreRule, SignalsConfig, load_settings
from flywheel.ingest import ingest_paths
from flywheel.scores import score_goodness, score_rule
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.trace import SignalKind
from tests.helpers.signals import Ingest, record


@pytest.mark.parametrize(
    ("name", "higher_is_better"),
    [
        ("hallucination", False),
        ("HallucinationMetric", False),  # DeepEval's class name
        ("toxicity_score", False),
        ("ragas.harmfulness", False),
        ("Bias", False),
        ("error_rate", False),
        ("latency", False),
        ("faithfulness", True),
        ("answer_relevancy", True),
        ("Correctness", True),
        ("helpfulness", True),
        ("my_custom_metric", True),  # unknown names take `default`
    ],
)
def test_well_known_names_have_their_direction(name: str, higher_is_better: bool) -> None:
    assert score_rule(name, SignalsConfig().scores).higher_is_better is higher_is_better


def test_a_high_hallucination_fails_and_a_zero_passes(store: Store, ingest: Ingest) -> None:
    pks = ingest(
        [
            record("hallucinated", scores={"hallucination": 1.0}),
            record("toxic", scores={"toxicity": 0.8}),
            record("clean", scores={"hallucination": 0.0, "toxicity": 0.1}),
            record("unfaithful", scores={"faithfulness": 0.2}),
        ]
    )
    detect_failures(store, SignalsConfig())

    (high,) = store.signals_of(pks["hallucinated"])
    assert high.kind is SignalKind.low_score
    assert high.evidence == "score 'hallucination' 1 above its threshold 0.5"
    assert high.strength == 1.0
    assert [s.detail["score"] for s in store.signals_of(pks["toxic"])] == ["toxicity"]
    assert store.signals_of(pks["clean"]) == []
    assert [s.detail["score"] for s in store.signals_of(pks["unfaithful"])] == ["faithfulness"]


def test_configured_rules_win_over_the_built_in_ones(store: Store, ingest: Ingest) -> None:
    pks = ingest([record("a", scores={"hallucination": 0.4, "grounding_errors": 3})])
    config = SignalsConfig.model_validate(
        {"scores": {"hallucination": {"bad_above": 0.3}, "grounding_errors": {"bad_above": 2}}}
    )
    detect_failures(store, config)
    assert sorted(s.detail["score"] for s in store.signals_of(pks["a"])) == [
        "grounding_errors",
        "hallucination",
    ]


def test_the_toml_section_and_the_old_key_both_read(tmp_path: Path) -> None:
    (tmp_path / "flywheel.toml").write_text(
        "[signals.scores]\nhallucination = { bad_above = 0.2 }\nfaith = { bad_below = 0.7 }\n"
    )
    rules = load_settings(tmp_path).signals.scores
    assert rules["hallucination"] == ScoreRule(bad_above=0.2)
    assert score_rule("faith", rules).threshold == 0.7
    assert score_rule("other", rules).threshold == 0.5  # the default survives

    legacy = SignalsConfig.model_validate({"low_score_thresholds": {"default": 0.4, "x": 7}})
    assert legacy.scores["x"] == ScoreRule(bad_below=7)
    assert legacy.scores["default"] == ScoreRule(bad_below=0.4)


def test_a_rule_needs_one_direction() -> None:
    with pytest.raises(ValidationError, match="not both"):
        ScoreRule(bad_below=0.5, bad_above=0.5)
    with pytest.raises(ValidationError, match="give bad_below"):
        ScoreRule()
    with pytest.raises(ValidationError, match="Extra inputs"):
        SignalsConfig.model_validate({"scores": {"x": {"bad_under": 1}}})


def test_goodness_puts_every_score_on_one_scale() -> None:
    assert score_goodness("hallucination", 0.9) == pytest.approx(0.1)
    assert score_goodness("faithfulness", 0.9) == 0.9
    assert score_goodness("faithfulness", 7) == 1.0


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_ingest_warns_when_a_score_looks_inverted(store: Store, tmp_path: Path) -> None:
    # An unknown name read as higher-better whose values are mostly "low": most likely a
    # risk score, so the ingest says how to configure it.
    records = [record(f"t{i}", scores={"grounding_errors": 0.1}) for i in range(30)]
    counts = ingest_paths(store, [_write(tmp_path / "a.jsonl", records)])
    (warning,) = counts.warnings
    assert "score 'grounding_errors'" in warning
    assert "flags 30 of its 30 values" in warning
    assert "[signals.scores] grounding_errors = {bad_above = 0.5}" in warning

    rules = SignalsConfig.model_validate({"scores": {"grounding_errors": {"bad_above": 0.5}}})
    again = ingest_paths(store, [tmp_path / "a.jsonl"], score_rules=rules.scores)
    assert again.warnings == []


def test_ingest_warns_when_users_disagree_with_a_score_direction(
    store: Store, tmp_path: Path
) -> None:
    # Configured higher-is-better, but the traces users disliked score higher.
    liked = [
        record(f"up{i}", scores={"judge": 0.55}, feedback=[{"kind": "thumb", "value": 1}])
        for i in range(6)
    ]
    disliked = [
        record(f"down{i}", scores={"judge": 0.95}, feedback=[{"kind": "thumb", "value": -1}])
        for i in range(6)
    ]
    counts = ingest_paths(store, [_write(tmp_path / "b.jsonl", liked + disliked)])
    (warning,) = counts.warnings
    assert "traces users disliked average 0.95 against 0.55" in warning
    assert "judge = {bad_above = 0.5}" in warning
