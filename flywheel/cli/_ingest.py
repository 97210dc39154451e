"""`flywheel ingest`: files in, counts out."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from flywheel.cli._common import JsonOption, console, err_console, open_store, print_json, project
from flywheel.cli._logging import progress_shown
from flywheel.formats import format_names
from flywheel.ingest import SkippedPath, expand_paths, ingest_paths, window_of
from flywheel.signals import detect_failures
from flywheel.store import run_lock


def ingest(
    paths: list[Path] = typer.Argument(..., help="Trace files or folders (.gz accepted)."),
    format: str = typer.Option(
        "auto",
        "--format",
        "-f",
        help="auto (detect each file's format), or one of: " + ", ".join(format_names()),
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        help="Name of the trace source (part of a trace's key); default: the format.",
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any record was quarantined."),
    follow_symlinks: bool = typer.Option(
        False,
        "--follow-symlinks",
        help="Read files that symbolic links point to (default: skip links, and say so).",
    ),
    wait: float = typer.Option(
        0.0,
        "--wait",
        min=0,
        envvar="FLYWHEEL_INGEST_WAIT",
        help="Seconds to wait when a nightly run or another ingest holds the lock.",
    ),
    json_out: bool = JsonOption,
) -> None:
    """Ingest trace files into the project's store, then detect failing traces.

    Formats: native JSONL, OTLP JSON, LangSmith, Langfuse, chat transcripts, tau-bench.
    Bad records are quarantined (`flywheel quarantine`); read = stored + updated + duplicates
    + quarantined.
    """
    proj = project()
    store = open_store(proj)
    skipped: list[SkippedPath] = []
    files = expand_paths(paths, follow_symlinks=follow_symlinks, skipped=skipped)
    with (
        run_lock(store, command="flywheel ingest", wait=wait),
        Progress(
            TextColumn("[bold]ingest[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.completed} files"),
            TimeElapsedColumn(),
            console=err_console,
            disable=json_out or not progress_shown() or not err_console.is_terminal,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("", total=len(files))
        done: set[str] = set()

        def on_progress(file: str, read: int) -> None:
            if file not in done:
                done.add(file)
                progress.advance(task)
            progress.update(task, description=f"{Path(file).name}: {read} records")

        counts = ingest_paths(
            store,
            files,
            format=format,
            source=source,
            batch_size=proj.settings.ingest.batch_size,
            max_record_bytes=proj.settings.ingest.max_record_bytes,
            timestamp_window=window_of(proj.settings.ingest),
            on_progress=on_progress,
            follow_symlinks=follow_symlinks,
            score_rules=proj.settings.signals.scores,
        )
        counts.skipped[:0] = [passed.as_dict() for passed in skipped]  # searched here
        detection = detect_failures(store, proj.settings.signals)
    report = counts.as_dict()
    report["quarantined_on_read"] = detection.quarantined
    if json_out:
        print_json(report)
    else:
        console.print(
            f"read {counts.read}: stored {counts.stored}, updated {counts.updated}, "
            f"duplicates {counts.duplicates}, quarantined {counts.quarantined}; "
            f"{detection.total_failing} failing traces in the store"
        )
        if detection.quarantined:
            err_console.print(
                f"[yellow]{detection.quarantined} stored traces no longer read back and were "
                "moved to the quarantine (`flywheel quarantine`)[/]"
            )
        for error in counts.errors[:20]:
            where = f"{error['file']}:{error['line']}" if error["line"] else error["file"]
            field = f" field '{error['field']}':" if error.get("field") else ""
            err_console.print(
                Text(f"{where}:{field} {error['reason']}", style="yellow"), soft_wrap=True
            )
        if len(counts.errors) > 20:
            err_console.print(f"... and {len(counts.errors) - 20} more: `flywheel quarantine`")
        for entry in counts.skipped[:20]:
            err_console.print(f"skipped {entry['file']}: {entry['reason']}", highlight=False)
        if len(counts.skipped) > 20:
            err_console.print(f"... and {len(counts.skipped) - 20} more files skipped (--json)")
        for note in counts.warnings:
            err_console.print(f"[yellow]warning: {note}[/]", highlight=False)
        for kept in counts.trace_warnings[:20]:
            where = f"{kept['file']}:{kept['line']}" if kept["line"] else kept["file"]
            err_console.print(
                Text(f"{where}: trace '{kept['trace_id']}' kept, {kept['warning']}"),
                soft_wrap=True,
            )
        if len(counts.trace_warnings) > 20:
            err_console.print(
                f"... and {len(counts.trace_warnings) - 20} more warnings (see --json)"
            )
    if strict and counts.quarantined:
        raise typer.Exit(1)
