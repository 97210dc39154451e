"""The taxonomy as data, its extension by `triage.toml`, and priority in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.errors import ConfigError, UserError
from flywheel.store import Store
from tests.helpers.triage import add_cluster, healthy, ingest, kind_traces
from triage import BUILTIN_ROOT_CAUSES, Taxonomy, label_cluster, load_triage_config, prioritise

DESIGN = {
    "prompt_instruction": "prompt",
    "routing_decision": "routing",
    "retrieval_ranking": "retrieval",
    "context_construction": "context",
    "tool_arguments": "tools",
    "missing_capability": "product",
    "model_limitation": "model",
    "memory_multiturn": "memory",
    "data_freshness": "data",
    "latency_infra": "infra",
    "evaluation_scorer": "eval",
}


def test_the_builtin_taxonomy_is_the_design_one() -> None:
    taxonomy = Taxonomy()
    assert {c.name: c.owner for c in BUILTIN_ROOT_CAUSES} == DESIGN
    fixable = {c.name for c in BUILTIN_ROOT_CAUSES if c.optimizer_fixable}
    assert fixable == {"prompt_instruction", "routing_decision", "tool_arguments"}
    assert all(c.description and c.evidence and c.fix_types for c in BUILTIN_ROOT_CAUSES)
    assert list(taxonomy.severities) == ["S1", "S2", "S3", "S4"]
    assert "privacy" in taxonomy.severities["S1"].definition


EXTENSION = """
neighbour_similarity = 0.9

[[root_causes]]
name = "policy_gap"
owner = "compliance"
description = "The written policy itself is wrong."
evidence = ["complaints citing the policy"]
fix_types = ["investigate"]
"""


def test_a_team_extends_the_taxonomy_in_triage_toml(store: Store, tmp_path: Path) -> None:
    (tmp_path / "triage.toml").write_text(EXTENSION)
    config = load_triage_config(tmp_path)
    taxonomy = Taxonomy.from_config(config)
    assert taxonomy.get("policy_gap").owner == "compliance"
    assert len(taxonomy.names) == len(DESIGN) + 1

    ingest(store, tmp_path, healthy(10) + kind_traces("stale", 3))
    add_cluster(store, "C-0001", [r["trace_id"] for r in kind_traces("stale", 3)])
    saved = label_cluster(store, "C-0001", root_cause="policy_gap", reviewer="ana", config=config)
    assert saved.root_cause == "policy_gap"
    with pytest.raises(UserError, match=r"valid root causes: .*policy_gap"):
        label_cluster(store, "C-0001", root_cause="policy_gaps", reviewer="ana", config=config)
    with pytest.raises(UserError, match="unknown root cause 'policy_gap'"):
        label_cluster(store, "C-0001", root_cause="policy_gap", reviewer="ana")  # not configured


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[[root_causes]]\nname = 'Bad Name'\nowner = 'x'\ndescription = 'd'\n", "name"),
        ("neighbour_similarity = 3\n", "neighbour_similarity"),
        ("colour = 'blue'\n", "colour"),
    ],
)
def test_a_bad_triage_toml_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    (tmp_path / "triage.toml").write_text(text)
    with pytest.raises(ConfigError, match=f"key '.*{key}"):
        load_triage_config(tmp_path)


def test_priority_combines_severity_volume_growth_and_fixability() -> None:
    base = prioritise(severity="S2", traces=63, growth=None, fixable=False)
    assert base.score == 24.0
    assert "growth unknown" in base.explanation
    assert "handed to its owner" in base.explanation
    assert prioritise(severity="S1", traces=63, growth=None, fixable=False).score == 48.0
    assert prioritise(severity="S2", traces=63, growth=None, fixable=True).score == 36.0
    growing = prioritise(severity="S2", traces=63, growth=1.0, fixable=False)
    assert growing.score == 48.0
    assert "+100% week over week" in growing.explanation
    assert prioritise(severity="S2", traces=63, growth=9.0, fixable=False).score == 72.0  # clamped
