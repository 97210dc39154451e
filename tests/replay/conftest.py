"""Fixtures of the replay tests: the demo world's traffic, case sets and config variants."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from examples.acme_assistant import DEFAULT_CONFIG_DIR
from examples.acme_assistant.generate import GeneratedTrace, generate_traffic
from examples.acme_assistant.runtime import simulation
from replay import CaseSet, blocking_set, regression_set, validation_set
from tests.llm.conftest import llm_client, openai_server  # noqa: F401  (fixtures)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CLUSTER = "C-AFM"
ROUTING_FIX = (
    "  - name: accounts\n"
    '    pattern: "\\\\b(account|product|complain\\\\w*|unhappy|problem|relationship)\\\\b"\n'
    "    route: search\n"
    "  - name: news\n"
)
ALWAYS_SEARCH = 'rules:\n  - name: always-search\n    pattern: "."\n    route: search\n'


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


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


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    """1200 production traces of the demo; the target cluster is "answered from memory"."""
    root = tmp_path_factory.mktemp("demo-configs")
    traffic = list(generate_traffic(simulation(DEFAULT_CONFIG_DIR), 1200, 7))
    target = [g.trace for g in traffic if g.failure_mode == "answered_from_memory"]
    validation = validation_set(target, cluster_id=CLUSTER, holdout=0.5, seed=1)
    population = [
        (g.trace, CLUSTER if g.failure_mode == "answered_from_memory" else None) for g in traffic
    ]
    regression = regression_set(population, size=300, seed=1)
    severe = [
        g.trace
        for g in traffic
        if g.failure_mode is None and g.trace.metadata["intent"] in ("policy", "status")
    ]
    blocking = blocking_set(severe[:12])
    baseline = root / "baseline"
    shutil.copytree(DEFAULT_CONFIG_DIR, baseline)
    fix = root / "routing-fix"
    shutil.copytree(DEFAULT_CONFIG_DIR, fix)
    edit(fix / "routing.yaml", "  - name: news\n", ROUTING_FIX)
    always = root / "always-search"
    shutil.copytree(DEFAULT_CONFIG_DIR, always)
    edit(always / "routing.yaml", "rules:\n", ALWAYS_SEARCH)
    noop = root / "noop"
    shutil.copytree(DEFAULT_CONFIG_DIR, noop)
    edit(noop / "prompts" / "system.md", "Be concise and friendly.", "Be concise and friendly!")
    return DemoWorld(traffic, validation, regression, blocking, baseline, fix, always, noop)
