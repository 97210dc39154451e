"""Fixtures of the replay tests: the demo world's traffic, case sets and config variants."""

from __future__ import annotations

import os
import shutil

import pytest

from examples.acme_assistant import DEFAULT_CONFIG_DIR
from examples.acme_assistant.generate import generate_traffic
from examples.acme_assistant.runtime import simulation
from replay import blocking_set, regression_set, validation_set
from tests.helpers.files import edit
from tests.helpers.replay import ALWAYS_SEARCH, CLUSTER, ROUTING_FIX, DemoWorld

os.environ.setdefault("HF_HUB_OFFLINE", "1")


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
