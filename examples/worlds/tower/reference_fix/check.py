#!/usr/bin/env python3
"""Failure rate per mode for 2,000 requests under config/ vs reference_fix/ (via truth)."""
import importlib
import importlib.util
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent          # .../reference_fix
WORLD = HERE.parent                             # folder holding generate.py


def _load():
    for pkg_dir, name in ((WORLD / "tower", "tower"), (WORLD, "examples.worlds.tower")):
        if (pkg_dir / "world.py").exists():
            if name.startswith("examples."):
                sys.path.insert(0, str(WORLD.parent.parent.parent))
                try:
                    return importlib.import_module(name)
                except ImportError:
                    name = "_tower_world"
            spec = importlib.util.spec_from_file_location(name, pkg_dir / "__init__.py", submodule_search_locations=[str(pkg_dir)])
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            return mod
    raise SystemExit("cannot find the tower package")


def main(n=2000, seed=7):
    w = _load()
    reqs = list(w.requests(n, seed))
    before = Counter(w.truth(r, w.DEFAULT_CONFIG_DIR) for r in reqs)
    after = Counter(w.truth(r, HERE) for r in reqs)
    ok = True
    print(f"{'mode':28s} {'category':20s} fix  config/  reference_fix/  change")
    for m, cat in w.FAILURE_MODES.items():
        b, a = before.get(m, 0) / n, after.get(m, 0) / n
        fix = m in w.CONFIG_FIXABLE
        ch = (a - b) / b if b else 0.0
        good = (a <= 0.4 * b) if fix else (a >= b)
        ok &= good
        print(f"{m:28s} {cat:20s} {'yes' if fix else 'no ':3s}  {b:6.2%}   {a:6.2%}        {ch:+6.0%} {'ok' if good else 'FAIL'}")
    tb, ta = sum(v for k, v in before.items() if k) / n, sum(v for k, v in after.items() if k) / n
    print(f"{'ALL':28s} {'':20s}      {tb:6.2%}   {ta:6.2%}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
