"""`flywheel demo ...`: the demo world (a simulated enterprise assistant) as the embedded default.

The world lives in ``examples/``, which the core never imports statically: it is a plugin
found by module path (``FLYWHEEL_DEMO_WORLD``), so a team can swap in a world of its own.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from flywheel.cli._common import JsonOption, console, err_console, print_json, state
from flywheel.errors import UserError
from flywheel.ingest import ingest_paths
from flywheel.project import init_project
from flywheel.signals import detect_failures
from flywheel.store import Store

app = typer.Typer(help="The demo world: generate production-like traffic with known truth.")

DEFAULT_WORLD = "examples.acme_assistant.cli"


def _world() -> Any:
    name = os.environ.get("FLYWHEEL_DEMO_WORLD", DEFAULT_WORLD)
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UserError(
            f"cannot import the demo world '{name}' ({exc}); install Flywheel from its source "
            "checkout (`make demo`) or set FLYWHEEL_DEMO_WORLD to a module with generate()"
        ) from None


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
        print_json(summary)
        return
    console.print(
        f"wrote {summary.traces} traces ({summary.sessions} sessions) to {summary.out}; "
        f"{summary.failing} failing ({summary.failure_rate:.1%}); labels in {summary.labels} "
        f"[{summary.seconds:.1f} s]"
    )


@app.command("quickstart")
def quickstart(
    directory: Path = typer.Argument(
        Path("demo-project"), help="Project folder to create or reuse."
    ),
    n: int = typer.Option(2000, "--n", min=1, help="Traces in the week of demo traffic."),
    seed: int = typer.Option(1, "--seed"),
    json_out: bool = JsonOption,
) -> None:
    """Create a demo project, generate a week of traffic, ingest it and summarise the failures.

    Idempotent: a second run reuses the project and its traffic.
    """
    world = _world()
    agent_config = directory.resolve() / "agent-config"
    if not agent_config.exists():  # the demo agent's configuration, a copy the loop may change
        shutil.copytree(world.DEFAULT_CONFIG_DIR, agent_config)
    project, _ = init_project(directory, config_repo=agent_config)
    state.project_dir = project.root
    traffic = project.root / "traffic" / f"week-1-seed{seed}-n{n}.jsonl"
    if not traffic.exists():
        err_console.print(f"generating {n} demo traces ...")
        world.generate(n, seed, agent_config, traffic, None)
    with Store.open(project.database_url) as store:
        counts = ingest_paths(store, [traffic])
        detect_failures(store, project.settings.signals)
        summary = _summary(store, traffic.with_name("labels.json"))
    summary["ingest"] = counts.as_dict()
    summary["project"] = str(project.root)
    if json_out:
        print_json(summary)
        return
    _print_summary(summary)


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


def _print_summary(summary: dict[str, Any]) -> None:
    console.print(f"[bold]Flywheel demo project[/] {summary['project']}")
    ingest = summary["ingest"]
    console.print(
        f"ingested: read {ingest['read']}, stored {ingest['stored']}, "
        f"duplicates {ingest['duplicates']}, quarantined {ingest['quarantined']}"
    )
    console.print(
        f"{summary['flagged_failing']} of {summary['traces']} traces flagged failing; the world's "
        f"truth has {summary['truly_failing']} failing (recall {summary['detection_recall']}, "
        f"precision {summary['detection_precision']})"
    )
    table = Table("failure signal", "traces", "mean strength", title="What users are unhappy about")
    for kind, row in sorted(summary["signals"].items(), key=lambda kv: -kv[1]["traces"]):
        table.add_row(kind, str(row["traces"]), f"{row['mean_strength']:.2f}")
    console.print(table)
    console.print(
        "next, inside the project: `flywheel traces list --failing`, `flywheel cluster`, "
        "`flywheel triage`, `flywheel optimize`"
    )
