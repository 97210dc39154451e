"""`flywheel cluster`, `flywheel clusters` and `flywheel bench cluster`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from flywheel.bench._worlds import find_worlds
from flywheel.cli._common import (
    JsonOption,
    WaitOption,
    console,
    open_store,
    print_json,
    project,
)
from flywheel.cli._logging import chatter
from flywheel.clustering import (
    agentrx_labels,
    cluster_report,
    run_cluster_benchmark,
    run_clustering,
    run_worlds_benchmark,
)
from flywheel.errors import UserError
from flywheel.project import Project
from flywheel.store import run_lock


def _parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--since {value!r} is not a date; use YYYY-MM-DD") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def cluster(
    since: str | None = typer.Option(
        None, "--since", help="Only failing traces from this date on (YYYY-MM-DD)."
    ),
    full: bool = typer.Option(
        False, "--full", help="Re-cluster everything instead of assigning new traces."
    ),
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """Group failing traces by failure pattern (incremental unless --full or a re-cluster due)."""
    proj = project()
    store = open_store(proj)
    log = chatter("flywheel.clustering", json_out)
    llm = proj.llm_client("cluster")
    try:
        with run_lock(store, command="flywheel cluster", wait=wait):
            result = run_clustering(
                store,
                proj.settings.clustering,
                since=_parse_date(since),
                full=full,
                log=log,
                llm=llm,
                compute=proj.settings.compute,
            )
    finally:
        llm.close()
    if json_out:
        print_json(result)
        return
    if result.message:
        console.print(f"[yellow]note:[/] {result.message}", highlight=False)
    if result.diagnosis_failures:
        console.print(
            f"[yellow]note:[/] {result.diagnosis_failures} traces got no LLM diagnosis; "
            "the next run retries them",
            highlight=False,
        )
    console.print(
        f"{result.kind} run {result.run_id}: {result.traces} failing traces, "
        f"{result.clusters} clusters, {result.noise} noise, {result.soft} soft-assigned; "
        f"embedded {result.embedding.get('embedded', 0)} new signatures"
    )


def clusters(json_out: bool = JsonOption) -> None:
    """List the current failure clusters with their size, keywords and weekly counts."""
    report = cluster_report(open_store())
    if json_out:
        print_json(report)
        return
    table = Table("id", "name", "size", "first seen", "last seen", "weekly", "exemplars")
    for item in report.clusters:
        name = Text(item.label)
        if item.keywords and " / ".join(item.keywords[:3]) != item.label:
            name.append("\n" + " / ".join(item.keywords[:3]), style="dim")
        table.add_row(
            item.id,
            name,
            str(item.size),
            item.first_seen.date().isoformat() if item.first_seen else "-",
            item.last_seen.date().isoformat() if item.last_seen else "-",
            " ".join(str(n) for n in item.weekly_counts.values()),
            Text(", ".join(item.exemplar_ids)),
        )
    console.print(table)
    console.print(f"{len(report.noise_trace_ids)} failing traces are noise (in no cluster)")


def bench_cluster(
    traces: list[Path] | None = typer.Option(
        None, "--traces", help="Trace file or folder (repeat for several)."
    ),
    labels: Path | None = typer.Option(
        None, "--labels", help="labels.json: {trace_id: {failure_mode}}."
    ),
    worlds: str | None = typer.Option(
        None,
        "--worlds",
        help="Instead of --traces/--labels: 'all' or names of labelled worlds to generate and "
        "score (every world but the demo is held out).",
    ),
    worlds_dir: Path = typer.Option(
        Path("examples/worlds"), "--worlds-dir", help="Where the labelled worlds live."
    ),
    n: int = typer.Option(3000, "--n", min=1, help="Traces generated per world."),
    seed: int = typer.Option(1, "--seed", help="Seed of the generated worlds."),
    include_labelled: bool = typer.Option(
        False,
        "--include-labelled",
        help="Cluster labelled traces even when no signal flagged them (recall is reported apart).",
    ),
    assign: int = typer.Option(
        0, "--assign", min=0, help="Also time assigning this many held-out traces incrementally."
    ),
    baselines: bool = typer.Option(
        True,
        "--baselines/--no-baselines",
        help="Also score the naive recipe and KMeans (skip them for speed runs at 100k).",
    ),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where the temporary store goes."),
    json_out: bool = JsonOption,
) -> None:
    """Clustering quality (ARI, NMI, noise, over-split) against labels, with two baselines."""
    try:
        proj: Project | None = project()
    except UserError:
        proj = None
    log = chatter("flywheel.clustering.bench", json_out)
    config = proj.settings.clustering if proj is not None else None
    if worlds is not None:
        if traces or labels:
            raise UserError("--worlds generates its own traces: drop --traces / --labels")
        result = run_worlds_benchmark(
            find_worlds(worlds_dir, worlds),
            n=n,
            seed=seed,
            config=config,
            baselines=baselines,
            workdir=workdir,
            log=log,
        )
        if json_out:
            print_json(result)
        else:
            _print_worlds(result)
        return
    if not traces or labels is None:
        raise UserError("give --traces and --labels, or --worlds all")
    llm = proj.llm_client("bench-cluster") if proj is not None else None
    try:
        report = run_cluster_benchmark(
            traces,
            labels,
            config=config,
            include_labelled=include_labelled,
            assign=assign,
            baselines=baselines,
            workdir=workdir,
            log=log,
            llm=llm,
        )
    finally:
        if llm is not None:
            llm.close()
    if json_out:
        print_json(report)
        return
    table = Table("method", "ARI", "NMI", "noise", "clusters")
    for method in ("flywheel", "naive", "kmeans_true_k"):
        row = report[method]
        if row is None:
            continue
        table.add_row(
            method,
            str(row["ari"]),
            str(row["nmi"]),
            f"{row['noise_fraction']:.1%}",
            str(row["clusters"]),
        )
    console.print(table)
    console.print(
        f"true modes {report['true_modes']}, over-split {report['flywheel']['over_split']}, "
        f"labelled clustered {report['labelled_clustered']}, "
        f"detection recall {report['detection_recall']:.1%}, precision "
        f"{_share(report['detection_precision'])}, speed {report['speed']}"
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print_worlds(result: dict[str, Any]) -> None:
    table = Table(
        "world",
        "held out",
        "ARI",
        "NMI",
        "noise",
        "clusters / modes",
        "recall",
        "precision",
        "naive",
        "KMeans k",
    )
    for name, row in result["worlds"].items():
        table.add_row(
            name,
            "yes" if row["held_out"] else "no (demo)",
            str(row["ari"]),
            str(row["nmi"]),
            f"{row['noise_fraction']:.1%}",
            f"{row['clusters']} / {row['true_modes']} ({row['over_split']})",
            f"{row['detection_recall']:.1%}",
            _share(row["detection_precision"]),
            str(row["naive_ari"] if row["naive_ari"] is not None else "-"),
            str(row["kmeans_true_k_ari"] if row["kmeans_true_k_ari"] is not None else "-"),
        )
    console.print(table)
    held = result["held_out"]
    if held:
        console.print(
            f"held-out worlds ({held['worlds']}): mean ARI {held['mean_ari']}, worst "
            f"{held['worst_ari']}, worst noise {held['worst_noise_fraction']:.1%}, worst "
            f"over-split {held['worst_over_split']}"
        )


def bench_agentrx_labels(
    dataset: Path = typer.Argument(..., help="The AgentRx dataset folder."),
    out: Path = typer.Option(Path("labels.json"), "--out", help="Where labels.json goes."),
) -> None:
    """Write labels.json for AgentRx: failure_mode = the root-cause failure's category."""
    import json

    labels = agentrx_labels(dataset)
    out.write_text(json.dumps(labels, indent=2, sort_keys=True) + "\n")
    console.print(f"{len(labels)} labelled traces written to {out}")
