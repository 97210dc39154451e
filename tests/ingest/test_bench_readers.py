"""The per-reader speed inputs: every copy of a real export is stored as a new trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.bench._readers import REPO, Sample, find_samples, reader_inputs
from flywheel.ingest import ingest_paths
from flywheel.store import Store

DATA = REPO / "tests" / "formats" / "data"


@pytest.fixture(scope="module")
def samples() -> dict[str, list[Sample]]:
    return find_samples([DATA])


def test_samples_are_found_by_format_with_their_ids(samples: dict[str, list[Sample]]) -> None:
    assert {"langsmith", "otlp", "taubench", "chat"} <= set(samples)
    (runs,) = [s for s in samples["langsmith"] if s.path.name == "langsmith_runs.jsonl"]
    assert runs.trace_ids
    assert not any("truncated" in s.path.name for found in samples.values() for s in found)


@pytest.mark.parametrize("fmt", ["langsmith", "otlp", "taubench"])
def test_every_copy_is_stored_as_a_new_trace(
    samples: dict[str, list[Sample]], fmt: str, tmp_path: Path
) -> None:
    """Copies that came back as duplicates would measure the dedupe, not the reader."""
    inputs = reader_inputs({fmt: samples[fmt]}, tmp_path, 40_000)
    assert inputs
    for item in inputs:
        assert item.bytes >= 40_000
        with Store.open(f"sqlite:///{tmp_path / 'check.db'}") as store:
            counts = ingest_paths(store, [item.path], source=item.name)
        assert (counts.stored, counts.duplicates, counts.quarantined) == (item.traces, 0, 0)
        assert {f["format"] for f in counts.files} == {fmt}
