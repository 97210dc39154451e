"""Liberal in what ingest accepts: a producer's own feedback kinds, sources and step types are
kept (raw value preserved, mapped to a known meaning where clear, one warning per value) and
never cost a trace; files in a folder that no reader takes are listed with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flywheel.config import SignalsConfig
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.trace import FeedbackKind, FeedbackSource, SignalKind, StepType


def _trace(i: int, feedback: list[dict[str, Any]], step_type: str = "tool") -> dict[str, Any]:
    return {
        "trace_id": f"t{i}",
        "input": "Where is my refund?",
        "output": "It was sent yesterday.",
        "steps": [{"id": "s1", "type": step_type, "name": "lookup"}],
        "feedback": feedback,
    }


def test_unknown_feedback_kinds_and_sources_are_kept_not_quarantined(
    store: Store, tmp_path: Path
) -> None:
    records = [
        _trace(0, [{"kind": "escalation", "source": "slack_reaction"}]),
        _trace(1, [{"kind": "reopened", "source": "ide"}]),
        _trace(2, [{"kind": "thumb", "value": 1, "source": "ide"}]),
        _trace(3, [{"kind": "emoji_party", "source": "carrier_pigeon"}], step_type="teleport"),
        _trace(4, [{"kind": "escalation", "source": "slack_reaction"}]),
    ]
    path = tmp_path / "world.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    counts = ingest_paths(store, [path])

    assert (counts.read, counts.stored, counts.quarantined) == (5, 5, 0)
    stored = {t.trace_id: t for t in store.list_traces()}
    (escalation,) = store.get_trace("t0").trace.feedback
    assert (escalation.kind, escalation.value, escalation.source) == (
        FeedbackKind.implicit,
        -1.0,
        FeedbackSource.user,
    )
    assert escalation.model_extra == {"kind_raw": "escalation", "source_raw": "slack_reaction"}
    odd = store.get_trace("t3").trace
    assert odd.feedback[0].model_extra == {
        "kind_raw": "emoji_party",
        "source_raw": "carrier_pigeon",
    }
    assert odd.steps[0].type is StepType.other
    assert odd.steps[0].model_extra == {"type_raw": "teleport"}
    # One warning per value, however many traces carry it.
    assert sorted(w.split(" (first in")[0] for w in counts.warnings) == [
        "feedback kind 'emoji_party' read as 'implicit'",
        "feedback kind 'escalation' read as 'implicit'",
        "feedback kind 'reopened' read as 'implicit'",
        "feedback source 'carrier_pigeon' read as 'user'",
        "feedback source 'ide' read as 'user'",
        "feedback source 'slack_reaction' read as 'user'",
        "step type 'teleport' read as 'other'",
    ]

    detect_failures(store, SignalsConfig())
    kinds = [s.kind for s in store.signals_of(stored["t0"].pk)]
    assert kinds == [SignalKind.negative_feedback]


def test_files_in_a_folder_that_no_reader_takes_are_listed(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps(_trace(0, [])) + "\n", encoding="utf-8")
    (folder / "notes.md").write_text("# not traces\n", encoding="utf-8")
    (folder / ".hidden.bin").write_bytes(b"\0")

    counts = ingest_paths(store, [folder])

    assert counts.stored == 1
    assert [Path(s["file"]).name for s in counts.skipped] == ["notes.md"]
    assert "not a trace file by its name" in counts.skipped[0]["reason"]
