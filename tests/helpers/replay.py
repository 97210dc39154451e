"""The replay tests: the demo world's target cluster, configuration variants and case sets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from examples.acme_assistant.generate import GeneratedTrace
from replay import CaseSet

CLUSTER = "C-AFM"


ROUTING_FIX = (
    "  - name: accounts\n"
    '    pattern: "\\\\b(account|product|complain\\\\w*|unhappy|problem|relationship)\\\\b"\n'
    "    route: search\n"
    "  - name: news\n"
)


ALWAYS_SEARCH = 'rules:\n  - name: always-search\n    pattern: "."\n    route: search\n'


@dataclass(frozen=True)
class DemoWorld:
    traffic: list[GeneratedTrace]
    validation: CaseSet
    regression: CaseSet
    blocking: CaseSet
    baseline: Path
    routing_fix: Path
    always_search: Path
    noop: Path
