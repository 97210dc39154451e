#!/usr/bin/env python
"""python generate.py --n 3000 --seed 1 --out DIR  ->  DIR/traces.jsonl, DIR/labels.json"""
import argparse
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load():
    # Inside the tool's repository this folder is examples/worlds/claims/ (package: examples.worlds.claims).
    repo = HERE.parents[2] if len(HERE.parents) > 2 else None
    if repo is not None and HERE.parent.name == "worlds" and HERE.parent.parent.name == "examples" \
            and (HERE / "__init__.py").exists():
        sys.path.insert(0, str(repo))
        return importlib.import_module("examples.worlds.claims")
    # Standalone: the package is the claims/ folder beside this file (or this folder itself).
    if (HERE / "claims" / "__init__.py").exists():
        sys.path.insert(0, str(HERE))
        return importlib.import_module("claims")
    sys.path.insert(0, str(HERE.parent))
    return importlib.import_module(HERE.name)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default=None, help="configuration directory (default: week-1 production config)")
    ap.add_argument("--start", default=None, help="first day, YYYY-MM-DD (default 2026-11-02)")
    a = ap.parse_args()
    mod = _load()
    import datetime as _dt
    start = _dt.date.fromisoformat(a.start) if a.start else None
    r = mod.generate(a.n, a.seed, a.config, Path(a.out) / "traces.jsonl", start=start)
    print(f"traces={r.traces} failing={r.failing} ({r.failing / max(1, r.traces):.1%})")
    for m, c in r.by_mode.items():
        print(f"  {m:38s} {c}")
    print(f"-> {r.out}\n-> {r.labels}")


if __name__ == "__main__":
    main()
