"""Northwind Mobile customer-care assistant — a replayable labelled world ("tower")."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .world import DEFAULT_CONFIG_DIR, MODES, decide, latent, load_config, truth as _truth, visible_input, _u
from .trace import build, _rid

AGENT = "python:examples.worlds.tower:run"
FAILURE_MODES: dict = {m: v[0] for m, v in MODES.items()}
CONFIG_FIXABLE = frozenset(m for m, v in MODES.items() if v[1])

__all__ = ["AGENT", "DEFAULT_CONFIG_DIR", "FAILURE_MODES", "CONFIG_FIXABLE", "run", "truth", "generate"]


def run(inputs: dict, config_dir=None) -> dict:
    cfg = load_config(config_dir)
    D = decide(inputs, cfg)
    tr, _ = build(inputs, D, cfg)
    return tr


def truth(inputs: dict, config_dir=None):
    return _truth(inputs, config_dir)


@dataclass
class GenerateResult:
    traces: int
    failing: int
    by_mode: dict = field(default_factory=dict)
    out: str = ""
    labels: str = ""


_HOUR_W = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 12, 12, 11, 11, 10, 10, 11, 12, 11, 8, 5, 2]


def _timestamps(n: int, rng: random.Random, start: date):
    out = []
    for _ in range(n):
        d = rng.randrange(7)
        h = rng.choices(range(24), _HOUR_W)[0]
        dt = datetime(start.year, start.month, start.day, tzinfo=timezone.utc) + timedelta(days=d, hours=h, seconds=rng.randrange(3600))
        out.append(dt)
    out.sort()
    return [dt.strftime("%Y-%m-%dT%H:%M:%SZ") for dt in out]


def requests(n: int, seed: int, start=None):
    """The request generator: yields n replay inputs (input object + seed + timestamp)."""
    start = start or date(2026, 11, 2)
    if isinstance(start, str):
        start = date.fromisoformat(start)
    rng = random.Random(f"tower-gen-{seed}")
    stamps = _timestamps(n, rng, start)
    seen = set()
    for i in range(n):
        s = int(_rid("req", seed, i), 16) % (2 ** 47)
        while s in seen:
            s += 1
        seen.add(s)
        inputs = visible_input(latent(s), random.Random(s ^ 0x5A5A))
        inputs["seed"] = s
        inputs["timestamp"] = stamps[i]
        yield inputs


def generate(n: int, seed: int, config_dir=None, out=None, start=None) -> GenerateResult:
    if out is None:
        raise ValueError("out (path of traces.jsonl) is required")
    cfg_dir = config_dir if config_dir is not None else DEFAULT_CONFIG_DIR
    cfg = load_config(cfg_dir)
    outp = Path(out)
    outp.parent.mkdir(parents=True, exist_ok=True)
    labels, by_mode = {}, {}
    with open(outp, "w", encoding="utf-8") as fh:
        for inputs in requests(n, seed, start):
            D = decide(inputs, cfg)
            tr, fstep = build(inputs, D, cfg)
            fh.write(json.dumps(tr, ensure_ascii=False) + "\n")
            m = D["mode"]
            if m is not None:
                rc, fix, sev = MODES[m]
                labels[tr["trace_id"]] = {"failure_mode": m, "root_cause": rc, "failing_step": fstep,
                                          "agent": None, "fixable": fix, "severity": sev}
                by_mode[m] = by_mode.get(m, 0) + 1
    lp = outp.parent / "labels.json"
    with open(lp, "w", encoding="utf-8") as fh:
        json.dump(labels, fh, indent=1)
    return GenerateResult(traces=n, failing=len(labels), by_mode=dict(sorted(by_mode.items(), key=lambda kv: -kv[1])),
                          out=str(outp), labels=str(lp))
