"""Labelled worlds for the leave-one-world-out benchmarks (`flywheel bench cluster --worlds`).

A world is a folder holding ``generate.py``, a standalone script with one command line:
``python generate.py --n N --seed S --out DIR`` writes ``DIR/traces.jsonl`` (or
``traces.otlp.jsonl``) and ``DIR/labels.json`` (``{trace_id: {"failure_mode", "root_cause",
...}}`` for every failing trace). Worlds are run as separate processes, so the core never
imports the code that wrote them; every world except the demo (``acme``) was written blind
from the brief beside it. A world is held out until a rule is developed on it (``SEEN``).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flywheel.errors import UserError

#: The world whose failure modes the detectors were written against: reported, never held out.
DEMO_WORLD = "acme"
#: A file in a world's folder saying when its traces were first used to develop a rule; from
#: then on the world is reported but no longer counted as held out.
SEEN_MARKER = "SEEN"


@dataclass(frozen=True)
class World:
    name: str
    folder: Path

    @property
    def held_out(self) -> bool:
        """Whether no rule was tuned on this world: not the demo, and no ``SEEN`` file (which
        says when the world was first used to develop a rule)."""
        return self.name != DEMO_WORLD and not (self.folder / SEEN_MARKER).is_file()

    def generate(self, out: Path, *, n: int, seed: int) -> tuple[list[Path], Path]:
        """Write the world's traces into ``out``; return the trace files and labels.json."""
        out.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                sys.executable,
                str(self.folder / "generate.py"),
                "--n",
                str(n),
                "--seed",
                str(seed),
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise UserError(f"world {self.name}: generate.py failed: {last}")
        traces = sorted(p for p in out.iterdir() if p.name.startswith("traces"))
        labels = out / "labels.json"
        if not traces or not labels.is_file():
            raise UserError(f"world {self.name}: generate.py wrote no traces* or labels.json")
        return traces, labels


def find_worlds(root: Path, names: str) -> list[World]:
    """The worlds under ``root`` named in ``names`` ("all" or a comma-separated list)."""
    available = {
        p.name: World(p.name, p)
        for p in sorted(Path(root).iterdir() if Path(root).is_dir() else [])
        if (p / "generate.py").is_file()
    }
    if not available:
        raise UserError(f"no labelled worlds (folders with generate.py) under {root}")
    if names.strip() == "all":
        return list(available.values())
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise UserError(
            f"unknown world(s) {', '.join(unknown)}; valid: all, {', '.join(available)}"
        )
    return [available[name] for name in wanted]
