#!/usr/bin/env python
"""Failure rate per mode for 2,000 requests under config/ (week-1 production) vs reference_fix/.

Fixable modes must drop by >= 60 % each; unfixable modes must not drop.
Usage: python check.py [--n 2000] [--seed 7] [--config DIR]
"""
import argparse
import importlib
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load():
    if HERE.parent.name == "worlds" and HERE.parent.parent.name == "examples" and (HERE / "__init__.py").exists():
        sys.path.insert(0, str(HERE.parents[2]))
        return importlib.import_module("examples.worlds.claims")
    if (HERE / "claims" / "__init__.py").exists():
        sys.path.insert(0, str(HERE))
        return importlib.import_module("claims")
    sys.path.insert(0, str(HERE.parent))
    return importlib.import_module(HERE.name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--config", default=None, help="a candidate configuration to compare instead of reference_fix/")
    a = ap.parse_args()
    w = _load()
    fixed_dir = Path(a.config) if a.config else HERE / "reference_fix"
    reqs = w.requests(a.n, a.seed)
    before = Counter(w.truth(r, w.DEFAULT_CONFIG_DIR) for r in reqs)
    after = Counter(w.truth(r, fixed_dir) for r in reqs)
    n = len(reqs)
    ok = True
    print(f"{'mode':38s} {'category':20s} {'fixable':7s} {'config/':>8s} {'fix':>8s} {'change':>8s}  verdict")
    for m, cat in w.FAILURE_MODES.items():
        b, f = before[m] / n, after[m] / n
        ch = (f - b) / b if b else 0.0
        fixable = m in w.CONFIG_FIXABLE
        if fixable:
            good = b > 0 and ch <= -0.60
        else:
            good = f >= b
        ok &= good
        print(f"{m:38s} {cat:20s} {str(fixable):7s} {b:8.2%} {f:8.2%} {ch:+8.0%}  {'ok' if good else 'FAIL'}")
    hb, hf = before[None] / n, after[None] / n
    print(f"{'(healthy)':38s} {'':20s} {'':7s} {hb:8.2%} {hf:8.2%}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
