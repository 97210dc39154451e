"""`flywheel retention`: delete old traces, never one that something kept refers to."""

from __future__ import annotations

import typer

from flywheel.cli._common import JsonOption, WaitOption, console, open_store, print_json, project
from flywheel.errors import UserError
from flywheel.store import run_lock
from flywheel.store._retention import apply_retention


def retention(
    older_than: float | None = typer.Option(
        None,
        "--older-than",
        min=0.001,
        help="Delete traces older than this many days (default: \\[retention] older_than_days).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what would be deleted; delete nothing."
    ),
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """Delete traces older than a number of days with their signals, detections and versions;
    traces that a cluster exemplar, dataset, regression set, candidate or audit record refers
    to are kept."""
    proj = project()
    days = older_than if older_than is not None else proj.settings.retention.older_than_days
    if days is None:
        raise UserError(
            "no retention period: pass --older-than DAYS or set [retention] older_than_days "
            "in flywheel.toml"
        )
    store = open_store(proj)
    with run_lock(store, command="flywheel retention", wait=wait):
        report = apply_retention(store, days, dry_run=dry_run)
    if json_out:
        print_json(report)
        return
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"{report.older} traces older than {report.cutoff:%Y-%m-%d %H:%M} UTC: {verb} "
        f"{report.deleted}, kept {report.kept} that something refers to",
        highlight=False,
    )
    if report.kept_by:
        console.print(
            "kept by: " + ", ".join(f"{t} {n}" for t, n in report.kept_by.items()),
            highlight=False,
        )
    owned = {t: n for t, n in report.rows.items() if t != "traces" and n}
    if owned:
        console.print(
            f"with them ({verb}): " + ", ".join(f"{n} {t}" for t, n in owned.items()),
            highlight=False,
        )
