"""A native file parsed by two processes (the parser and the writer, chunk by chunk) is
stored exactly as when one process reads it all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import flywheel.ingest._parsing as parsing_module
from flywheel.ingest import ingest_paths
from flywheel.store import Store
from tests.helpers.native import trace


def _file(path: Path) -> Path:
    lines: list[str] = []
    for i in range(1, 60):
        if i % 11 == 0:
            lines.append("")  # blank lines move chunk boundaries off record counts
        if i % 13 == 0:
            lines.append('{"trace_id": "broken", ')
        elif i % 17 == 0:
            lines.append(json.dumps(trace(i - 10, output=f"second copy {i}")))  # a new version
        elif i % 19 == 0:
            lines.append(json.dumps(trace(i - 5)))  # an identical repeat: a duplicate
        else:
            lines.append(json.dumps(trace(i)))
    path.write_text("\n".join(lines) + "\n")
    return path


def _ingest(db: Path, path: Path) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    with Store.open(f"sqlite:///{db}") as store:
        counts = ingest_paths(store, [path], batch_size=4)
        stored = sorted((t.trace.trace_id, t.version, t.trace.output) for t in store.iter_traces())
    result = counts.as_dict()
    return {k: result[k] for k in ("read", "stored", "updated", "duplicates", "errors")}, stored


def test_shared_parsing_stores_what_one_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path / "t.jsonl")
    monkeypatch.setattr(parsing_module, "FORK_ABOVE_BYTES", 1 << 40)
    alone = _ingest(tmp_path / "alone.db", path)
    monkeypatch.setattr(parsing_module, "FORK_ABOVE_BYTES", 0)
    shared = _ingest(tmp_path / "shared.db", path)
    assert shared == alone
    counts, stored = shared
    assert (counts["updated"], counts["duplicates"]) == (3, 2)
    assert [e["line"] for e in counts["errors"]] == [14, 28, 42, 56]
    assert any(version == 2 for _, version, _ in stored)


def test_progress_counts_every_record_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _file(tmp_path / "t.jsonl")
    monkeypatch.setattr(parsing_module, "FORK_ABOVE_BYTES", 0)
    seen: list[int] = []
    with Store.open(f"sqlite:///{tmp_path / 'p.db'}") as store:
        counts = ingest_paths(store, [path], batch_size=4, on_progress=lambda _f, n: seen.append(n))
    assert seen == sorted(seen)
    assert seen[-1] == counts.read


def _runs_file(path: Path) -> Path:
    """LangSmith runs (not native: its parser only serialises, the writer prepares) with
    records rejected by the reader, on serialising and on reading back, among good ones."""
    deep: Any = "leaf"
    for _ in range(220):
        deep = [deep]  # written by orjson, refused when read back
    deeper: Any = "leaf"
    for _ in range(400):
        deeper = [deeper]  # not even written
    lines: list[str] = []
    for i in range(1, 40):
        run: dict[str, Any] = {
            "id": f"run-{i}",
            "name": "agent",
            "run_type": "chain",
            "inputs": {"input": f"question {i}"},
            "outputs": {"output": f"answer {i}"},
            "feedback_stats": {"correctness": {"n": 1, "avg": (i % 4) / 4}},
        }
        if i % 7 == 0:
            lines.append('{"id": "broken", ')
        if i % 9 == 0:
            run["inputs"] = {"q": deep}
        if i % 10 == 0:
            run["inputs"] = {"q": deeper}
        lines.append(json.dumps(run))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_parser_that_leaves_rows_to_the_writer_stores_what_one_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer reads back and prepares a forked parser's traces: the same rows, and every
    rejection (reader's, serialising's, reading back's) in the same order."""
    path = _runs_file(tmp_path / "runs.jsonl")

    def ingest(db: Path) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
        with Store.open(f"sqlite:///{db}") as store:
            counts = ingest_paths(store, [path], batch_size=4)
            stored = sorted(
                (t.trace.trace_id, t.version, t.trace.to_json()) for t in store.iter_traces()
            )
        return counts.as_dict(), stored

    monkeypatch.setattr(parsing_module, "FORK_ABOVE_BYTES", 1 << 40)
    alone = ingest(tmp_path / "alone.db")
    monkeypatch.setattr(parsing_module, "FORK_ABOVE_BYTES", 0)
    forked = ingest(tmp_path / "forked.db")
    assert forked == alone
    counts = forked[0]
    reasons = [(e["line"], e["reason"][:24]) for e in counts["errors"]]
    assert (counts["read"], counts["stored"], counts["quarantined"]) == (44, 32, 12)
    assert {reason for _, reason in reasons} == {
        "invalid JSON: unexpected",
        "would not read back once",
        "cannot be stored as JSON",
    }
