"""`flywheel bench ...`: the speed figures each issue names, measured on this machine."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import typer

from flywheel.bench import run_ingest_benchmark
from flywheel.cli._cluster import bench_agentrx_labels, bench_cluster
from flywheel.cli._common import JsonOption, console, print_json
from flywheel.cli._logging import chatter
from flywheel.errors import UserError
from flywheel.worlds import DEMO_WORLD, ReplayCheck

app = typer.Typer(help="Measure Flywheel's speed on this machine.", no_args_is_help=True)


@app.command("ingest")
def ingest(
    traces: int = typer.Option(100_000, "--traces", min=100, help="Traces in the throughput file."),
    memory_lines: int = typer.Option(
        1_000_000, "--memory-lines", min=0, help="Lines of the peak-memory file (0 to skip)."
    ),
    repeats: int = typer.Option(
        3, "--repeats", min=1, help="Runs per measurement (medians are reported)."
    ),
    postgres_url: str | None = typer.Option(
        None,
        "--postgres-url",
        envvar="FLYWHEEL_BENCH_POSTGRES_URL",
        help="Also measure PostgreSQL (a server URL; databases fwbench_* are created there).",
    ),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where the temporary files go."),
    readers: bool = typer.Option(
        True,
        "--readers/--no-readers",
        help="Also measure every reader on replicated real exports (needs a source checkout).",
    ),
    reader_mb: float = typer.Option(
        8.0, "--reader-mb", min=0.1, help="Size of each reader's input, in MB."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Ingest throughput (traces/s) and peak RSS, with a naive baseline measured in the same run.

    Per reader: traces/s and KB/s on real exports of its format, and how many times faster
    native ingests a KB in the same round (the goal: at most 3).
    """
    log = chatter("flywheel.bench.ingest", json_out)
    report = run_ingest_benchmark(
        traces=traces,
        memory_lines=memory_lines,
        repeats=repeats,
        postgres_url=postgres_url or os.environ.get("FLYWHEEL_TEST_POSTGRES_URL"),
        workdir=workdir,
        readers=readers,
        reader_mb=reader_mb,
        log=log,
    )
    if json_out:
        print_json(report)
        return
    for backend, figures in report["backends"].items():
        fw, naive = figures["flywheel"], figures["naive"]
        console.print(
            f"{backend}: flywheel {fw['traces_per_s_median']} traces/s "
            f"(peak {fw['peak_rss_mb_median']} MB, {fw['cpu_us_per_trace_median']} µs CPU a "
            f"trace), naive {naive['traces_per_s_median']} traces/s "
            f"(peak {naive['peak_rss_mb_median']} MB, {naive['cpu_us_per_trace_median']} µs), "
            f"speed-up x{figures['speedup_vs_naive_median']}"
        )
    for name, figures in report.get("readers", {}).items():
        if name == "_no_sample":
            console.print(f"readers without a sample file: {', '.join(figures)}")
            continue
        console.print(
            f"reader {name}: {figures['traces_per_s_median']} traces/s, "
            f"{figures['kb_per_s_median']} KB/s ({figures['kb_per_trace']} KB a trace, "
            f"{figures['files']} file(s)); native per KB x{figures['native_per_kb_ratio_median']}"
            f" (same size), x{figures['main_native_per_kb_ratio']} (main file)"
            f"{'' if figures['within_3x'] else ' (over 3x)'}"
        )
    if "memory" in report:
        mem = report["memory"]
        console.print(f"memory: {mem['lines']} lines, peak RSS {mem['peak_rss_mb']} MB")


app.command("cluster")(bench_cluster)
app.command("agentrx-labels")(bench_agentrx_labels)


@app.command("loop")
def loop(
    world_name: str = typer.Option(
        DEMO_WORLD,
        "--world",
        envvar="FLYWHEEL_BENCH_WORLD",
        help="Replayable world: the demo (acme) or a package under --worlds-dir.",
    ),
    worlds_dir: Path = typer.Option(
        Path("examples/worlds"),
        "--worlds-dir",
        envvar="FLYWHEEL_BENCH_WORLDS_DIR",
        help="Where the worlds live.",
    ),
    weeks: int = typer.Option(4, "--weeks", min=1, help="Simulated weeks."),
    n: int = typer.Option(3000, "--n", min=100, help="Traces per week."),
    seed: int = typer.Option(1, "--seed", help="Base seed (each week gets a new one)."),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Where the temporary project goes."
    ),
    check: bool = typer.Option(
        True,
        "--check/--no-check",
        help="First check on 200 traces that the world's truth and agent agree with its "
        "generated traffic (refused above 5 % disagreement).",
    ),
    json_out: bool = JsonOption,
) -> None:
    """The whole loop on a replayable world for W weeks: true failure rates per week, fixes shipped.

    A fresh project on the world's configuration; each week fresh traffic on main's
    configuration and a new seed, the nightly run, and automated approval of what the gate
    passed (two automated approvers, so an S1 fix can ship under the two-approver rule). A world
    is replayable when it follows examples/worlds/REPLAYABLE.md (`flywheel.worlds`).
    """
    from flywheel.cli._demo import loop_json, print_loop, show_week
    from flywheel.demo_loop import create_demo_project, run_demo_loop
    from flywheel.worlds import DEMO_ALIASES, check_replay, load_world

    name = DEMO_WORLD if world_name in DEMO_ALIASES else world_name
    world = load_world(name, worlds_dir)
    with tempfile.TemporaryDirectory(prefix="flywheel-loop-", dir=workdir) as tmp:
        found = check_replay(world, Path(tmp) / "preflight") if check else ReplayCheck()
        _refuse(name, found)
        for warning in found.warnings():
            logging.getLogger("flywheel.bench.loop").warning("world %s: %s", name, warning)
        project = create_demo_project(Path(tmp) / "project", world)
        report = run_demo_loop(
            project,
            world,
            weeks=weeks,
            traces=n,
            seed=seed,
            approvers=("loop-bot-1", "loop-bot-2"),
            on_week=None if json_out else show_week,
        )
    summary = {"world": name, "preflight": found.model_dump(mode="json") if check else None}
    if json_out:
        print_json({**summary, **loop_json(report)})
        return
    console.print(f"world: {name}", highlight=False)
    print_loop(report)


def _refuse(name: str, found: ReplayCheck) -> None:
    from flywheel.worlds import CONTRACT_DOC

    refusals = found.refusals()
    if refusals:
        raise UserError(
            f"world '{name}' is not replayable: {'; '.join(refusals)} (see {CONTRACT_DOC}; "
            "--no-check runs it anyway)"
        )
