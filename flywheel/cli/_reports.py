"""Reporting commands over the whole store: `signals`, `stats`, `quarantine`."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.table import Table
from rich.text import Text

from flywheel.cli._common import JsonOption, console, open_store, print_json, project
from flywheel.signals import detect_failures


def signals(
    recompute: bool = typer.Option(False, "--recompute", help="Re-derive signals for every trace."),
    json_out: bool = JsonOption,
) -> None:
    """Derive failure signals for traces not yet evaluated, and summarise signals by kind."""
    proj = project()
    store = open_store(proj)
    report = detect_failures(store, proj.settings.signals, recompute=recompute)
    kinds = store.signal_counts()
    total = store.count_traces()
    summary = {
        "evaluated": report.evaluated,
        "traces": total,
        "failing": report.total_failing,
        "failing_rate": round(report.total_failing / total, 4) if total else 0.0,
        "threshold": proj.settings.signals.failing_threshold,
        "by_kind": kinds,
    }
    if json_out:
        print_json(summary)
        return
    console.print(
        f"{report.total_failing} of {total} traces failing ({summary['failing_rate']:.1%}) "
        f"at threshold {summary['threshold']}; {report.evaluated} evaluated now"
    )
    table = Table("signal", "traces", "signals", "mean strength")
    for kind, row in sorted(kinds.items(), key=lambda kv: -kv[1]["traces"]):
        table.add_row(kind, str(row["traces"]), str(row["signals"]), f"{row['mean_strength']:.2f}")
    console.print(table)


def stats(json_out: bool = JsonOption) -> None:
    """Counts of the store: traces, failing, quarantined, and the last ingestion runs."""
    proj = project()
    store = open_store(proj)
    stale = timedelta(minutes=proj.settings.ingest.stale_run_minutes)
    runs = store.ingestion_runs(limit=5, stale_after=stale)
    data = {
        "traces": store.count_traces(),
        "timestamps_flagged": store.count_traces(flagged=True),
        "failing": store.count_traces(failing=True),
        "not_evaluated": store.count_traces_unevaluated(),
        "quarantined": store.count_quarantined(),
        "ingestion_runs": runs,
    }
    if json_out:
        print_json(data)
        return
    console.print(
        f"traces {data['traces']}  failing {data['failing']}  "
        f"not evaluated {data['not_evaluated']}  quarantined {data['quarantined']}"
        + (
            f"  timestamps flagged {data['timestamps_flagged']} (`traces list --flagged`)"
            if data["timestamps_flagged"]
            else ""
        )
    )
    table = Table(
        "run", "status", "started", "read", "stored", "updated", "duplicates", "quarantined"
    )
    for run in runs:
        table.add_row(
            str(run["id"]),
            run["status"],
            run["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
            *(str(run[k]) for k in ("read", "stored", "updated", "duplicates", "quarantined")),
        )
    console.print(table)


def quarantine(
    limit: int = typer.Option(50, "--limit", min=1),
    run: int | None = typer.Option(None, "--run", help="Only records of this ingestion run."),
    json_out: bool = JsonOption,
) -> None:
    """List quarantined records: file, line, field, reason (and the raw text with --json)."""
    records = open_store().quarantined(limit=limit, run_id=run)
    if json_out:
        print_json({"records": records})
        return
    table = Table("id", "run", "file", "line", "field", "reason")
    for rec in records:
        table.add_row(
            str(rec.id),
            str(rec.run_id),
            Text(rec.file),
            str(rec.line or "-"),
            Text(rec.field or "-"),
            Text(rec.reason),
        )
    console.print(table)
