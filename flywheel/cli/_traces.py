"""`flywheel traces list|show`: browse what was ingested."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from flywheel.cli._common import JsonOption, console, open_store, print_json
from flywheel.trace import Step

app = typer.Typer(help="Browse stored traces.", no_args_is_help=True)


@app.command("list")
def list_traces(
    failing: bool = typer.Option(False, "--failing", help="Only traces judged failing."),
    flagged: bool = typer.Option(
        False,
        "--flagged",
        help="Only traces whose timestamp is outside the ingest window (see ingest.max_*).",
    ),
    limit: int = typer.Option(50, "--limit", min=1, help="How many traces to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="How many to skip (paging)."),
    json_out: bool = JsonOption,
) -> None:
    """List traces (oldest first), with their failure score."""
    store = open_store()
    only_failing = True if failing else None
    rows = store.list_traces(failing=only_failing, flagged=flagged, limit=limit, offset=offset)
    if json_out:
        total = store.count_traces(failing=only_failing, flagged=flagged)
        print_json({"traces": rows, "total": total})
        return
    table = Table()
    table.add_column("trace id", no_wrap=True)
    table.add_column("route", no_wrap=True, min_width=8)
    table.add_column("tools", justify="right", min_width=5)
    table.add_column("errors", justify="right", min_width=6)
    table.add_column("failure", no_wrap=True, min_width=9)
    table.add_column("input", no_wrap=True, overflow="ellipsis")
    if flagged:
        table.add_column("timestamp flag", overflow="fold")
    for row in rows:
        verdict = "?" if row.failing is None else ("FAIL" if row.failing else "ok")
        score = f"{verdict} {row.failure_score:.2f}" if row.failure_score is not None else verdict
        table.add_row(
            Text(row.trace_id),
            Text(row.route or "-"),
            str(row.tool_calls),
            str(row.error_count),
            score,
            Text(row.input_preview[:80].replace("\n", " ")),
            *([Text(row.timestamp_flag or "")] if flagged else []),
        )
    console.print(table)


@app.command("show")
def show(
    trace_id: str = typer.Argument(..., help="The trace id."),
    source: str | None = typer.Option(
        None, "--source", help="Disambiguate an id in several sources."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Show one trace: its steps as a tree, feedback, scores and failure signals."""
    store = open_store()
    stored = store.get_trace(trace_id, source)
    signals = store.signals_of(stored.pk)
    trace = stored.trace
    if json_out:
        print_json(
            {
                "source": stored.source,
                "version": stored.version,
                "failing": stored.failing,
                "failure_score": stored.failure_score,
                "timestamp_flag": stored.timestamp_flag,
                "signals": [s.model_dump(mode="json") for s in signals],
                "trace": trace.model_dump(mode="json", exclude_none=True),
            }
        )
        return
    verdict = "not evaluated" if stored.failing is None else ("FAILING" if stored.failing else "ok")
    console.print(
        Text(f"{trace.trace_id}  [{stored.source} v{stored.version}]  {verdict}", style="bold")
    )
    console.print(Text(f"input:  {trace.input_text[:500]}"))
    console.print(Text(f"output: {trace.output_text[:500]}"))
    if trace.timestamp is not None:
        console.print(Text(f"time:   {trace.timestamp.isoformat()}"))
    if stored.timestamp_flag:
        console.print(Text(f"flagged: {stored.timestamp_flag}", style="yellow"))
    for dropped in trace.dropped or ():
        console.print(
            Text(f"dropped: {dropped.field} = {dropped.value} ({dropped.reason})", style="yellow")
        )
    root = Tree(Text("steps"))
    children: dict[str | None, list[Step]] = {}
    ids = {step.id for step in trace.steps}
    for step in trace.steps:
        parent = step.parent_id if step.parent_id in ids else None
        children.setdefault(parent, []).append(step)

    def add(node: Tree, parent: str | None, depth: int) -> None:
        for step in children.get(parent, []):
            label = Text(f"{step.type.value} {step.name or step.id}")
            if step.latency_ms is not None:
                label.append(f"  {step.latency_ms:.0f} ms", style="dim")
            if step.error:
                label.append(f"  error: {step.error[:120]}", style="red")
            branch = node.add(label)
            if depth < 50:
                add(branch, step.id, depth + 1)

    add(root, None, 0)
    console.print(root)
    for fb in trace.feedback:
        console.print(
            Text(f"feedback: {fb.kind.value} {fb.value} {fb.comment or ''} ({fb.source.value})")
        )
    for score in trace.scores:
        console.print(Text(f"score: {score.name} = {score.value}"))
    for signal in signals:
        console.print(Text(f"signal: {signal.kind.value} {signal.strength:.2f}  {signal.evidence}"))
