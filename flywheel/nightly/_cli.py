"""`flywheel nightly`: the whole loop, from cron; progress on stderr, a summary on stdout."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from flywheel.cli._common import JsonOption, console, print_json, project
from flywheel.cli._logging import progress_shown
from flywheel.nightly._pipeline import NightlyFailed, run_nightly
from flywheel.nightly._report import NightlyReport
from flywheel.nightly._stage import NightlyOptions


def nightly(
    new: bool = typer.Option(
        False, "--new", help="Start a fresh run even if the last one did not finish."
    ),
    inbox: Path | None = typer.Option(
        None, "--inbox", help="Folder of new trace files (default: [nightly] inbox)."
    ),
    wait: float = typer.Option(
        0.0,
        "--wait",
        min=0,
        envvar="FLYWHEEL_NIGHTLY_WAIT",
        help="Seconds to wait when another run or an ingest holds the lock (default: exit).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Run the loop: ingest, detect, cluster, triage, optimize, gate, queue, drift.

    Resumes the last run if it did not finish (finished stages are skipped). Writes
    nightly-<run id>.md and .json to [nightly] report_dir.
    """
    proj = project()
    options = NightlyOptions(new=new, inbox=inbox.resolve() if inbox else None, wait=wait)
    try:
        report = run_nightly(proj, options=options, progress=not json_out and progress_shown())
    except NightlyFailed as exc:
        if json_out:
            print_json(exc.report.model_dump(mode="json"))
        else:
            _table(exc.report)
        raise
    if json_out:
        print_json(report.model_dump(mode="json"))
        return
    _table(report)


def _table(report: NightlyReport) -> None:
    table = Table("stage", "status", "seconds", "work", title=f"nightly run {report.run_id}")
    for stage in report.stages:
        colour = {"finished": "green", "failed": "red"}.get(stage.status, "yellow")
        work = stage.error or ", ".join(f"{k} {v}" for k, v in stage.counts.items())
        table.add_row(stage.name, f"[{colour}]{stage.status}[/]", f"{stage.seconds:.1f}", work)
    console.print(table)
    queue = report.stage("queue")
    drift = report.stage("drift")
    if queue is not None and queue.summary:
        console.print(f"approval queue: {queue.summary.get('queue_size', 0)} waiting")
    if drift is not None and drift.summary.get("pass_rate") is not None:
        console.print(f"main's regression pass rate: {drift.summary['pass_rate']:.1%}")
