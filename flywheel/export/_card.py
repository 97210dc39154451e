"""The dataset card written beside every export: a Markdown file with YAML front matter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flywheel.export._write import write_atomic

_DESCRIPTIONS = {
    "sft": "Supervised fine-tuning demonstrations in OpenAI chat fine-tuning JSONL "
    "(messages with tool calls and tool results).",
    "preference": "Preference pairs (prompt / chosen / rejected, conversational) as TRL's "
    "DPOTrainer reads them: chosen is the validated fixed output, rejected the original "
    "failing output for the same request.",
    "eval": "Eval set cases (input, expected behaviour, origin), one per line.",
}


def card_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.card.md")


def write_card(out: Path, facts: dict[str, Any]) -> Path:
    """Write the card for the export at ``out``; its path."""
    path = card_path(out)
    front = yaml.safe_dump(facts, sort_keys=False, allow_unicode=True)
    body = (
        f"---\n{front}---\n\n# {out.name}\n\n{_DESCRIPTIONS[facts['format']]}\n\n"
        "Every record carries a `provenance` object (trace ids, cluster, candidate, replay "
        "run, approver, config commit). PII (emails, phone numbers, card and account numbers, "
        "person names from the trace metadata) was replaced by placeholders such as `[EMAIL]` "
        "before writing; near-duplicates were removed by embedding similarity.\n"
    )
    write_atomic(path, [body.encode("utf-8")])
    return path
