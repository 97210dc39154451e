"""An agent for the re-gate tests: it answers with its whole configuration, so a case whose
reference text is in the config passes (a fix is literally a config line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flywheel.trace import Trace


def config_echo(inputs: dict[str, Any], config_dir: str) -> Trace:
    root = Path(config_dir)
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    text = "\n".join(p.read_text(encoding="utf-8") for p in files)
    return Trace(
        trace_id=f"r-{inputs['input']}-{inputs.get('repeat', 0)}",
        input=inputs,
        output=f"{inputs['input']}\n{text}",
        latency_ms=10,
        cost_usd=0.001,
    )
