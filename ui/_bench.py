"""`flywheel bench ui`: each page's first render on a large store, in Chromium or AppTest.

``--via chromium`` (the default) serves the app and loads each page in headless Chromium
(`ui._browser_bench`): what a person waits for. ``--via apptest`` runs each page script
in-process in AppTest, as below (no browser, no network, no drawing).

The store is filled with bulk inserts (not through ingestion: this measures the pages):
``traces`` traces over four weeks, 30% failing, in ``clusters`` clusters, and ``candidates``
gated candidates. Each page then renders once in a fresh AppTest session; the figure is the
wall time of that first ``run()``. A warm-up render of a trivial page comes first so that the
one-off cost of importing Streamlit and Altair is not charged to the first page measured, and
AppTest's scan of installed packages for components (a server does it once at start-up) is
shared between the sessions.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from flywheel.project import init_project
from flywheel.store import Store
from flywheel.store._codec import encode_payload
from flywheel.store._tables import (
    ClusterMemberRow,
    ClusterRow,
    ClusterRunRow,
    EmbeddingRow,
    TraceRow,
)
from flywheel.trace import Step, Trace
from ui.approvals import Candidate, FlippedCase, GateSummary, Guardrail, Interval, Role, User
from ui.approvals.tables import CandidateRow

PAGES = (
    "this_week",
    "clusters",
    "traces",
    "approvals",
    "datasets",
    "replay_runs",
    "exports",
    "audit",
)
_BATCH = 5000
_DIM = 384


def populate(store: Store, *, traces: int, clusters: int, candidates: int, seed: int = 0) -> None:
    """Bulk-insert a large, realistic-looking store for the page benchmark."""
    rng = random.Random(seed)
    end = datetime(2026, 11, 20, tzinfo=UTC)
    with store.engine.begin() as conn:
        run_id = conn.execute(
            insert(ClusterRunRow).values(kind="full", model="bench", message="bench")
        ).inserted_primary_key[0]  # type: ignore[index]
        vectors = np.random.default_rng(seed).normal(size=(clusters, _DIM)).astype(np.float32)
        conn.execute(
            insert(ClusterRow),
            [
                {
                    "id": f"C-{i:04d}",
                    "label": f"failure pattern {i}",
                    "keywords": {"words": [f"word{i}", "search", "answer"]},
                    "exemplar_ids": {"ids": [f"t{i * 3 + k}" for k in range(3)]},
                    "size": 0,
                    "centroid": vectors[i].tobytes(),
                    "radius": 0.3,
                    "active": True,
                    "first_seen": end - timedelta(days=28),
                    "last_seen": end,
                    "created_run_id": run_id,
                    "last_run_id": run_id,
                }
                for i in range(clusters)
            ],
        )
        conn.execute(
            insert(EmbeddingRow),
            [
                {
                    "model": "bench",
                    "text_hash": f"{c:06d}{k:02d}".ljust(64, "0"),
                    "dim": _DIM,
                    "vector": (vectors[c] + rng.gauss(0, 0.2)).astype(np.float32).tobytes(),
                }
                for c in range(clusters)
                for k in range(10)
            ],
        )
    for start in range(0, traces, _BATCH):
        rows, members = [], []
        for i in range(start, min(start + _BATCH, traces)):
            when = end - timedelta(seconds=rng.uniform(0, 28 * 86400))
            failing = rng.random() < 0.3
            trace = Trace(
                trace_id=f"t{i}",
                input=f"request {i}: find the notes about project {i % 97}",
                output=f"answer {i}",
                timestamp=when,
                steps=[
                    Step(id="r", type="router", name="route", output={"route": "search"}),
                    Step(id="s", parent_id="r", type="retriever", name="search", output=["doc"]),
                ],
            )
            rows.append(
                {
                    "id": i + 1,
                    "source": "bench",
                    "trace_id": trace.trace_id,
                    "content_hash": trace.content_hash(),
                    "timestamp": when,
                    "input_preview": trace.input_text[:200],
                    "route": rng.choice(["search", "answer", "draft"]),
                    "latency_ms": rng.uniform(200, 4000),
                    "tool_calls": 1,
                    "error_count": 0,
                    "payload": encode_payload(trace.to_json()),
                    "failing": failing,
                    "failure_score": 0.8 if failing else 0.1,
                }
            )
            if failing:
                cluster = int(rng.paretovariate(1.2)) % clusters
                members.append(
                    {
                        "trace_pk": i + 1,
                        "cluster_id": f"C-{cluster:04d}",
                        "run_id": run_id,
                        "strength": 0.9,
                        "soft": False,
                        "signature_hash": f"{cluster:06d}{rng.randrange(10):02d}".ljust(64, "0"),
                        "timestamp": when,
                    }
                )
        with store.engine.begin() as conn:
            conn.execute(insert(TraceRow), rows)
            if members:
                conn.execute(insert(ClusterMemberRow), members)
    gate = GateSummary(
        passed=True,
        target_cases=40,
        target_fixed=12,
        target_broken=1,
        target_p_value=0.002,
        target_alpha=0.05,
        regression_delta=-0.01,
        regression_ci=Interval(low=-0.03, high=0.01),
        regression_margin=0.05,
        blocking_cases=30,
        guardrails={"p95_latency": Guardrail(ratio=1.04, budget=1.2, ok=True)},
    )
    flips = [
        FlippedCase(case_id=f"case{k}", direction="fixed", input="q", baseline_output="a")
        for k in range(5)
    ]
    with store.engine.begin() as conn:
        rows = []
        for i in range(candidates):
            candidate = Candidate(
                id=f"cand-{i:05d}",
                cluster_id=f"C-{i % clusters:04d}",
                cluster_label=f"failure pattern {i % clusters}",
                severity=f"S{1 + i % 4}",
                priority=rng.random(),
                author="optimizer",
                repo="/nonexistent",
                branch=f"flywheel/C-{i % clusters:04d}/rules-{i}",
                base_sha="0" * 40,
                diff="--- a/prompts/answer.md\n+++ b/prompts/answer.md\n+Always search first.\n",
                replay_run=f"run-{i}",
                gate=gate,
                flips=flips,
            )
            values = candidate.model_dump(mode="python")
            values["gate"] = gate.model_dump(mode="json")
            values["flips"] = {"cases": [f.model_dump(mode="json") for f in flips]}
            rows.append(values)
        conn.execute(insert(CandidateRow), rows)


def measure_pages(project_dir: Path, user: User, *, log: Callable[[str], None]) -> dict[str, float]:
    """Seconds of each page's first render in a fresh AppTest session."""
    import altair  # noqa: F401  (a process-wide one-off import, not a page's cost)
    from streamlit.testing.v1 import AppTest

    os.environ["FLYWHEEL_PROJECT"] = str(project_dir)
    pages = Path(__file__).parent / "views"
    figures: dict[str, float] = {}
    components: Any = None
    for name in ("warm-up", *PAGES):
        app = AppTest.from_file(
            str(pages / f"{'exports' if name == 'warm-up' else name}.py"), default_timeout=120
        )
        # AppTest scans every installed package for Streamlit components on a session's first
        # run (~1 s here); a server does that once at start, so the scan is shared, not timed.
        app._bidi_component_manager = components
        app.session_state["flywheel_user"] = user.model_dump(mode="json")
        start = time.perf_counter()
        app.run()
        seconds = time.perf_counter() - start
        if app.exception:
            raise RuntimeError(f"page {name} failed: {app.exception[0].message}")
        components = app._bidi_component_manager
        if name != "warm-up":
            figures[name] = round(seconds, 3)
            log(f"{name}: {seconds:.3f} s")
    return figures


def run_ui_benchmark(
    *,
    traces: int,
    clusters: int,
    candidates: int,
    workdir: Path | None,
    log: Callable[[str], None],
    via: str = "chromium",
    repeats: int = 3,
    chromium: str | None = None,
    chromedriver: str | None = None,
) -> dict[str, Any]:
    """Populate a project, then measure each page's first render (seconds)."""
    import secrets
    import statistics

    from ui._browser_bench import GOAL_SECONDS, find_browser, measure_pages_in_browser
    from ui._session import SessionSigner
    from ui.approvals import add_user, users_path

    if via not in ("chromium", "apptest"):
        raise ValueError(f"--via must be chromium or apptest, not '{via}'")
    browser = find_browser(chromium, chromedriver) if via == "chromium" else None
    with tempfile.TemporaryDirectory(dir=workdir, prefix="fw-bench-ui-") as tmp:
        os.environ.pop("FLYWHEEL_DATABASE_URL", None)
        project, _ = init_project(Path(tmp) / "project")
        store = project.open_store()
        start = time.perf_counter()
        populate(store, traces=traces, clusters=clusters, candidates=candidates)
        store.close()
        log(f"populated in {time.perf_counter() - start:.1f} s")
        user = User(name="bench", role=Role.admin)
        extra: dict[str, Any] = {}
        if browser is None:
            runs: dict[str, list[float]] = {}
            for _ in range(repeats):
                for page, seconds in measure_pages(project.root, user, log=log).items():
                    runs.setdefault(page, []).append(seconds)
        else:
            add_user(users_path(project.data_dir), user.name, user.role, secrets.token_hex(16))
            token = SessionSigner(project.data_dir).issue(user, hours=2)
            runs, cpu, version = measure_pages_in_browser(
                project.root,
                token,
                PAGES,
                repeats=repeats,
                chromium=browser[0],
                chromedriver=browser[1],
                log=log,
            )
            extra["browser"] = f"Chromium {version} (headless, 1600x1000)"
            extra["browser_main_thread_s"] = {
                page: round(statistics.median(values), 3) for page, values in cpu.items()
            }
    figures = {page: round(statistics.median(values), 3) for page, values in runs.items()}
    return {
        "via": via,
        **extra,
        "traces": traces,
        "clusters": clusters,
        "candidates": candidates,
        "repeats": repeats,
        "first_render_s": figures,
        "runs_s": runs,
        "max_s": max(figures.values()),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "goal_s": GOAL_SECONDS,
        "over_goal": sorted(page for page, value in figures.items() if value > GOAL_SECONDS),
    }
