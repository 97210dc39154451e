"""`flywheel demo ...`: the demo world (a simulated enterprise assistant) as the embedded default.

The world lives in ``examples/``, which the core never imports statically: it is a plugin
found by module path (``FLYWHEEL_DEMO_WORLD``), so a team can swap in a world of its own that
follows `flywheel.worlds.ReplayableWorld`.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.table import Table

from flywheel.cli._common import JsonOption, console, print_json, state
from flywheel.cli._common import project as open_project
from flywheel.cli._logging import progress_shown
from flywheel.demo_loop import (
    TRUTH_DIR,
    LoopReport,
    WeekResult,
    create_demo_project,
    run_demo_loop,
    weeks_done,
)
from flywheel.errors import UserError
from flywheel.nightly import latest_report
from flywheel.store import Store
from flywheel.worlds import GenerationSummary, ReplayableWorld, demo_world

_log = logging.getLogger(__name__)

app = typer.Typer(help="The demo world: generate production-like traffic with known truth.")


def _world() -> ReplayableWorld:
    """The demo world, checked against the replayable-world contract."""
    return demo_world()


@app.command("generate")
def generate(
    n: int = typer.Option(5000, "--n", min=1, help="Number of traces."),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed and config, same bytes."),
    config: Path | None = typer.Option(
        None, "--config", help="Agent configuration directory (default: the world's own)."
    ),
    out: Path = typer.Option(
        Path("traces.jsonl"), "--out", help="Output JSONL (labels.json beside)."
    ),
    start: str | None = typer.Option(
        None, "--start", help="First day of the traffic (YYYY-MM-DD)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Write production-like traces of the demo agent and their ground-truth labels."""
    try:
        first_day = date.fromisoformat(start) if start else None
    except ValueError:
        raise UserError(f"--start must be a date like 2026-11-16, got '{start}'") from None
    summary = _world().generate(n, seed, config, out, first_day)
    if json_out:
        print_json(summary_json(summary))
        return
    sessions = getattr(summary, "sessions", None)
    seconds = getattr(summary, "seconds", None)
    console.print(
        f"wrote {summary.traces} traces"
        f"{f' ({sessions} sessions)' if sessions is not None else ''} to {summary.out}; "
        f"{summary.failing} failing ({summary.failing / max(summary.traces, 1):.1%}); labels in "
        f"{summary.labels}{f' [{seconds:.1f} s]' if seconds is not None else ''}"
    )


def summary_json(summary: GenerationSummary) -> dict[str, Any]:
    """A generation summary as JSON, whatever type the world returned it as."""
    if isinstance(summary, BaseModel):
        return summary.model_dump(mode="json")
    known = ("out", "labels", "traces", "sessions", "failing", "failure_rate", "by_mode")
    data = {key: getattr(summary, key) for key in known if hasattr(summary, key)}
    return {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}


@app.command("quickstart")
def quickstart(
    directory: Path = typer.Argument(
        Path("demo-project"), help="Project folder to create or reuse."
    ),
    n: int = typer.Option(2000, "--n", min=1, help="Traces in the week of demo traffic."),
    seed: int = typer.Option(1, "--seed"),
    json_out: bool = JsonOption,
) -> None:
    """Create a demo project, generate a week of traffic and run the nightly loop on it.

    Ingest, detect, cluster, triage, optimize, replay, gate and queue; then a summary.
    Idempotent: a second run reuses the project, its traffic and its nightly run.
    """
    world = _world()
    project = create_demo_project(directory, world)
    state.project_dir = project.root
    if not weeks_done(project):
        run_demo_loop(
            project, world, weeks=1, traces=n, seed=seed, progress=not json_out and progress_shown()
        )
    week = weeks_done(project)[0]
    with Store.open(project.database_url) as store:
        summary = _summary(store, project.root / TRUTH_DIR / "week-1" / "labels.json")
    summary["project"] = str(project.root)
    summary["week"] = week.model_dump(mode="json")
    summary["nightly"] = latest_report(project)
    summary["report_dir"] = str(project.root / project.settings.nightly.report_dir)
    if json_out:
        print_json(summary)
        return
    _print_summary(summary)


@app.command("run")
def run(
    weeks: int = typer.Option(4, "--weeks", min=1, help="Simulated weeks to add."),
    approvers: list[str] = typer.Option(
        [],
        "--auto-approve-as",
        help="Automated approver (repeat for fixes that need two); recorded as automated.",
    ),
    n: int = typer.Option(3000, "--n", min=1, help="Traces per simulated week."),
    seed: int = typer.Option(1, "--seed", help="Base seed; each week gets a new one."),
    json_out: bool = JsonOption,
) -> None:
    """Simulate weeks of the whole loop on the demo world and report its true failure rates.

    For measurement: each week generates fresh traffic with main's configuration, runs the
    nightly loop, and approves what the gate passed as the automated approvers.
    """
    world = _world()
    project = open_project()
    if project.config_repo is None:
        raise UserError(
            "this project has no config_repo; create one with `flywheel demo quickstart`"
        )

    report = run_demo_loop(
        project,
        world,
        weeks=weeks,
        traces=n,
        seed=seed,
        approvers=approvers,
        on_week=None if json_out else show_week,
        progress=not json_out and progress_shown(),
    )
    if json_out:
        print_json(loop_json(report))
        return
    print_loop(report)


def show_week(week: WeekResult) -> None:
    """The loop's progress, a line a week (the table of all weeks follows on stdout)."""
    _log.info(
        "week %s: failure rate %.1f%% (fixable %.1f%%, unfixable %.1f%%); shipped %s [%.0f s]",
        week.week,
        week.failure_rate * 100,
        week.fixable_failure_rate * 100,
        week.unfixable_failure_rate * 100,
        len(week.shipped),
        week.seconds,
    )


def _modes(counts: dict[str, int]) -> str:
    return ", ".join(f"{mode} {n}" for mode, n in counts.items()) or "none"


def loop_json(report: LoopReport) -> dict[str, Any]:
    """The shape `flywheel bench loop --json` promises."""
    keys = ("week", "failure_rate", "fixable_failure_rate", "unfixable_failure_rate", "per_mode")
    return {
        "weeks": [
            {**{k: getattr(w, k) for k in keys}, "shipped": len(w.shipped)} for w in report.weeks
        ],
        "shipped": report.shipped,
        "worsened_modes": [w.model_dump(mode="json") for w in report.worsened_modes],
        "mode_shifts": [s.model_dump(mode="json") for s in report.shifts],
        "seconds": report.seconds,
    }


def print_loop(report: LoopReport) -> None:
    table = Table(
        "week", "failure rate", "fixable", "unfixable", "shipped", title="True failure rates"
    )
    for w in report.weeks:
        table.add_row(
            str(w.week),
            f"{w.failure_rate:.1%}",
            f"{w.fixable_failure_rate:.1%}",
            f"{w.unfixable_failure_rate:.1%}",
            ", ".join(w.shipped) or "-",
        )
    console.print(table)
    for shift in report.shifts:
        console.print(
            f"week {shift.week}'s {shift.requests} requests, main before vs after its fixes: "
            f"repaired {_modes(shift.repaired)}; broken {_modes(shift.broken)}; "
            f"unmasked (failed before with another mode) {_modes(shift.unmasked)}",
            highlight=False,
        )
    for worse in report.worsened_modes:
        console.print(
            f"[red]worse[/] {worse.mode} in week {worse.week}: {worse.broken} requests broken, "
            f"{worse.repaired} repaired (p={worse.p_value:.2g}) by {', '.join(worse.shipped)}"
        )
    if not report.worsened_modes:
        console.print("no shipped fix made any failure mode worse beyond noise")
    console.print(f"{report.shipped} fixes shipped in {report.seconds:.0f} s")


def _summary(store: Store, labels_path: Path) -> dict[str, Any]:
    """Detected failures by signal, checked against the world's ground truth."""
    truth: dict[str, dict[str, str]] = json.loads(labels_path.read_text())
    flagged = {row.trace_id for row in store.list_traces(failing=True, limit=10**9)}
    total = store.count_traces()
    caught = len(flagged & set(truth))
    return {
        "traces": total,
        "flagged_failing": len(flagged),
        "truly_failing": len(truth),
        "detection_recall": round(caught / len(truth), 3) if truth else None,
        "detection_precision": round(caught / len(flagged), 3) if flagged else None,
        "signals": store.signal_counts(),
    }


def _stage_summary(report: dict[str, Any] | None, name: str) -> dict[str, Any]:
    for stage in (report or {}).get("stages", []):
        if stage["name"] == name:
            return dict(stage.get("summary") or {})
    return {}


def loop_rows(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per triaged cluster: root cause, severity, candidates and gate decisions."""
    triaged = _stage_summary(report, "triage").get("triaged", [])
    made = _stage_summary(report, "optimize").get("candidates", [])
    decided = {d["candidate_id"]: d for d in _stage_summary(report, "gate").get("decisions", [])}
    rows = []
    for cluster in sorted(triaged, key=lambda c: -float(c.get("priority") or 0)):
        mine = [str(c["id"]) for c in made if c["cluster_id"] == cluster["cluster_id"]]
        decisions = [decided[c]["decision"] for c in mine if c in decided]
        rows.append(
            {
                **cluster,
                "candidates": len(mine),
                "passed": decisions.count("pass"),
                "gate": ", ".join(f"{decisions.count(d)} {d}" for d in sorted(set(decisions))),
            }
        )
    return rows


def _print_summary(summary: dict[str, Any]) -> None:
    console.print(f"[bold]Flywheel demo project[/] {summary['project']}")
    console.print(
        f"{summary['flagged_failing']} of {summary['traces']} traces flagged failing; the world's "
        f"truth has {summary['truly_failing']} failing (recall {summary['detection_recall']}, "
        f"precision {summary['detection_precision']})"
    )
    table = Table(
        "cluster",
        "root cause",
        "sev",
        "priority",
        "fixable",
        "candidates",
        "gate",
        title="Failure clusters, triage, candidate fixes and the gate's decisions",
    )
    for row in loop_rows(summary["nightly"]):
        table.add_row(
            row["cluster_id"],
            row["root_cause"],
            row["severity"],
            f"{row['priority']:.1f}",
            "yes" if row["fixable"] else "no",
            str(row["candidates"]),
            row["gate"] or "-",
        )
    console.print(table)
    console.print("fixable: by a configuration change; the others are handed to their owner")
    queue = _stage_summary(summary["nightly"], "queue")
    console.print(
        f"approval queue: {queue.get('queue_size', 0)} candidates passed the gate; "
        f"nightly report in {summary['report_dir']}"
    )
    console.print(
        "next: `flywheel ui` (the approval queue), `flywheel clusters`, `flywheel triage`, "
        "`flywheel candidates`, `flywheel nightly` after new traces land in the inbox"
    )
