#!/usr/bin/env python3
"""python generate.py --n 3000 --seed 1 --out DIR  -> DIR/traces.jsonl, DIR/labels.json"""
import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load():
    # Works both from this folder (package at ./tower) and when copied to examples/worlds/tower/
    # of another repository (package files next to this script).
    for pkg_dir, name in ((HERE / "tower", "tower"), (HERE, "examples.worlds.tower")):
        init = pkg_dir / "__init__.py"
        if init.exists() and (pkg_dir / "world.py").exists():
            if name == "examples.worlds.tower":
                root = HERE.parent.parent.parent
                sys.path.insert(0, str(root))
                try:

                    return importlib.import_module(name)
                except ImportError:
                    sys.path.pop(0)
                    name = "_tower_world"
            spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(pkg_dir)])
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            return mod
    raise SystemExit("cannot find the tower package")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--config", default=None, help="configuration directory (default: the package's config/)")
    ap.add_argument("--start", default=None, help="first day, YYYY-MM-DD (default 2026-11-02)")
    a = ap.parse_args()
    mod = _load()
    from datetime import date
    res = mod.generate(a.n, a.seed, a.config, Path(a.out) / "traces.jsonl",
                       start=date.fromisoformat(a.start) if a.start else None)
    print(f"traces={res.traces} failing={res.failing} ({res.failing / max(res.traces, 1):.1%})")
    for m, c in res.by_mode.items():
        print(f"  {m:28s} {c}")
    print(res.out, res.labels)


if __name__ == "__main__":
    main()
