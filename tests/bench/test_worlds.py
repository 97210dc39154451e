"""The labelled worlds of the leave-one-world-out benchmarks: which ones count as held out."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.bench._worlds import DEMO_WORLD, SEEN_MARKER, find_worlds
from flywheel.errors import UserError

_GENERATE = """
import argparse, json, pathlib
p = argparse.ArgumentParser()
for flag in ("--n", "--seed", "--out"):
    p.add_argument(flag)
out = pathlib.Path(p.parse_args().out)
(out / "traces.jsonl").write_text(json.dumps({"trace_id": "t1", "input": "hi"}) + "\\n")
label = {"failure_mode": "m", "root_cause": "model_limitation"}
(out / "labels.json").write_text(json.dumps({"t1": label}))
"""


def _world(root: Path, name: str, *, seen: bool = False, script: str = _GENERATE) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "generate.py").write_text(script)
    if seen:
        (root / name / SEEN_MARKER).write_text("used to develop the detectors\n")


def test_only_worlds_no_rule_was_developed_on_are_held_out(tmp_path: Path) -> None:
    _world(tmp_path, DEMO_WORLD)
    _world(tmp_path, "fresh")
    _world(tmp_path, "tuned", seen=True)
    (tmp_path / "notes").mkdir()  # a folder without generate.py is not a world

    worlds = {w.name: w.held_out for w in find_worlds(tmp_path, "all")}

    assert worlds == {DEMO_WORLD: False, "fresh": True, "tuned": False}
    traces, labels = find_worlds(tmp_path, "fresh")[0].generate(tmp_path / "out", n=5, seed=1)
    assert [p.name for p in traces] == ["traces.jsonl"]
    assert labels.is_file()


def test_an_unknown_world_or_a_failing_generator_is_one_clear_error(tmp_path: Path) -> None:
    _world(tmp_path, "broken", script="raise SystemExit('cannot write here')")
    with pytest.raises(UserError, match=r"unknown world\(s\) nope; valid: all, broken"):
        find_worlds(tmp_path, "nope")
    with pytest.raises(UserError, match=r"world broken: generate\.py failed: cannot write here"):
        find_worlds(tmp_path, "broken")[0].generate(tmp_path / "out", n=5, seed=1)
