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
