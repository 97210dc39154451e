"""The demo world (examples/acme_assistant) behind the labelled worlds' common command line:
``python generate.py --n 3000 --seed 1 --out DIR`` writes ``DIR/traces.jsonl`` and
``DIR/labels.json``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from examples.acme_assistant.cli import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    summary = generate(args.n, args.seed, None, args.out / "traces.jsonl")
    print(f"{summary.traces} traces, {summary.failing} failing, in {summary.out}")


if __name__ == "__main__":
    main()
