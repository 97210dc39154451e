"""Exports: SFT and preference files TRL can load, with provenance, PII gone, never half-written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flywheel.config import ExportConfig
from flywheel.datasets import add_case
from flywheel.export import NothingToExport, card_path, export_dataset, write_jsonl
from flywheel.store import Store
from tests.helpers.world import EMAILS, FAILING, LIKED, PHONES, fixed_answer, ship_fix

EXACT_ONLY = ExportConfig(near_duplicate_threshold=1.0)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _no_pii(path: Path) -> None:
    text = path.read_text()
    for secret in [*EMAILS, *PHONES, "Jane Doe", "Jane"]:
        assert secret not in text
    assert not re.search(r"[\w.]+@[\w.]+\.\w+", text)


def test_sft_export_loads_with_datasets_and_carries_provenance(
    loaded: Store, tmp_path: Path
) -> None:
    from datasets import load_dataset  # type: ignore[import-untyped]

    ship_fix(loaded)
    out = tmp_path / "out" / "sft.jsonl"
    report = export_dataset(loaded, "sft", out=out, config=EXACT_ONLY)
    # 4 validated fixes + 2 liked traces (one exact duplicate dropped, one without an answer)
    assert report.sources == {"validated_case": 4, "positive_trace": 2}
    assert report.exact_duplicates == 1
    assert report.skipped == {"unrebuildable: no final answer": 1}
    rows = load_dataset("json", data_files=str(out), split="train")
    assert len(rows) == 6 == report.records
    for row in rows:
        messages = row["messages"]
        assert messages[0]["role"] == "user"
        assert messages[-1]["role"] == "assistant"
        assert messages[-1]["content"]
        calls = [m for m in messages if m.get("tool_calls")]
        results = [m for m in messages if m["role"] == "tool"]
        assert [c["tool_calls"][0]["function"]["name"] for c in calls] == ["search_knowledge"]
        assert json.loads(calls[0]["tool_calls"][0]["function"]["arguments"])["top_k"] == 3
        assert results[0]["tool_call_id"] == calls[0]["tool_calls"][0]["id"]
    fixed = [r for r in _lines(out) if r["provenance"]["candidate"]]
    assert len(fixed) == 4
    assert fixed[0]["provenance"] == {
        "trace_ids": [fixed[0]["provenance"]["trace_ids"][0]],
        "cluster": "C-0001",
        "candidate": "flywheel/C-0001/rules-1",
        "replay_run": "run-42",
        "approver": "alice",
        "config_commit": "abc1234",
    }
    assert all(r["messages"][-1]["content"].startswith("The contract renews") for r in fixed)
    _no_pii(out)
    assert report.pii_redactions["email"] >= 4
    assert report.pii_redactions["phone"] >= 1  # the liked trace's request


def test_preference_export_has_the_fields_trl_reads(loaded: Store, tmp_path: Path) -> None:
    from datasets import load_dataset

    ship_fix(loaded)
    out = tmp_path / "pairs.jsonl"
    report = export_dataset(loaded, "preference", out=out, config=EXACT_ONLY)
    assert report.records == 4
    rows = load_dataset("json", data_files=str(out), split="train")
    assert {"prompt", "chosen", "rejected", "provenance"} <= set(rows.column_names)
    originals = {t.trace_id: t for t in FAILING[:4]}
    for row in rows:
        [trace_id] = row["provenance"]["trace_ids"]
        original = originals.pop(trace_id)
        assert row["prompt"] == [{"role": "user", "content": row["prompt"][0]["content"]}]
        assert row["prompt"][0]["content"].startswith(original.input_text.split("?")[0])
        assert row["chosen"][0] == {"role": "assistant", "content": fixed_answer(original)}
        assert row["rejected"][0]["content"].startswith("I think it renews")
        assert row["provenance"]["candidate"] == "flywheel/C-0001/rules-1"
    assert not originals
    _no_pii(out)
    card = yaml.safe_load(card_path(out).read_text().split("---")[1])
    assert card["records"] == 4
    assert card["format"] == "preference"
    assert card["license"] == EXACT_ONLY.licence
    assert card["pii_redactions"]["email"] >= 4
    assert card["pii_redactions"]["phone"] >= 4
    assert card["pii_redactions"]["name"] >= 4  # "Jane Doe" from metadata.user_name
    assert card["date_range"][0].startswith("2026-11-16")


def test_eval_export_never_contains_the_holdout(loaded: Store, tmp_path: Path) -> None:
    ship_fix(loaded, traces=FAILING[:2])
    add_case(loaded, "fail-5", role="holdout", added_by="eve")
    out = tmp_path / "eval.jsonl"
    report = export_dataset(loaded, "eval", out=out)
    records = _lines(out)
    assert report.records == 2
    assert {r["role"] for r in records} == {"regression"}
    assert all(r["set_version"] and r["expected"]["reference_output"] for r in records)
    _no_pii(out)


def test_holdout_traces_are_not_training_data(loaded: Store, tmp_path: Path) -> None:
    add_case(loaded, "good-status", role="holdout", added_by="eve")
    out = tmp_path / "sft.jsonl"
    report = export_dataset(loaded, "sft", out=out, config=EXACT_ONLY)
    assert report.records == 1
    assert [r["provenance"]["trace_ids"] for r in _lines(out)] == [["good-pricing"]]


def test_nothing_eligible_writes_nothing_and_says_why(store: Store, tmp_path: Path) -> None:
    from tests.helpers.world import load_traffic

    load_traffic(store, tmp_path, FAILING)
    out = tmp_path / "pairs.jsonl"
    with pytest.raises(NothingToExport, match="nothing to export as preference"):
        export_dataset(store, "preference", out=out)
    with pytest.raises(NothingToExport, match=r"positive feedback >= 0\.8"):
        export_dataset(store, "sft", out=out)
    assert list(tmp_path.glob("pairs*")) == []


def test_since_and_min_confidence_filter(loaded: Store, tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    from datetime import datetime

    report = export_dataset(loaded, "sft", out=out, config=EXACT_ONLY, since=datetime(2026, 11, 18))
    assert report.records == 1
    assert report.filtered == {"before --since": 1}
    with pytest.raises(NothingToExport):
        export_dataset(loaded, "sft", out=out, config=EXACT_ONLY, min_confidence=0.95)


def test_an_interrupted_export_leaves_no_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    out.write_text('{"old": true}\n')

    def records() -> Iterator[dict[str, Any]]:
        yield {"n": 1}
        yield {"n": 2}
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_jsonl(out, records())
    assert out.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["sft.jsonl"]
    fresh = tmp_path / "new.jsonl"
    with pytest.raises(KeyboardInterrupt):
        write_jsonl(fresh, records())
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["sft.jsonl"]


@pytest.mark.slow
def test_near_duplicates_are_removed_by_embedding_similarity(loaded: Store, tmp_path: Path) -> None:
    from flywheel.embeddings import Embedder
    from tests.helpers.world import _trace, load_traffic

    near = _trace(
        "good-pricing-near",
        "What discount did Cyberdyne Systems get on the renewal?",
        "Cyberdyne Systems has a 14 percent discount on its renewal price. [AN-cyberdyne-renewal]",
        thumb=1,
        day=5,
    )
    load_traffic(loaded, tmp_path, [near])
    embedder = Embedder(cache_dir=tmp_path / "emb")
    report = export_dataset(
        loaded, "sft", out=tmp_path / "sft.jsonl", config=ExportConfig(), embedder=embedder
    )
    assert (report.records, report.exact_duplicates, report.near_duplicates) == (2, 1, 1)
    assert len(LIKED) == 4
