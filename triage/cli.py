"""`flywheel triage ...` and `flywheel bench triage`, added by the plugin `triage._plugin`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from flywheel.errors import UserError
from flywheel.llm import LLMClient, LLMConfig
from flywheel.project import Project
from flywheel.store import run_lock
from flywheel.users import Role, sign_in
from triage._agent import calibration_pairs, label_cluster, triage_clusters
from triage._bench import run_triage_benchmark
from triage._calibration import calibrate
from triage._taxonomy import load_triage_config

#: Same as `flywheel.cli._common.JsonOption`; that module is imported lazily, because the
#: `flywheel` CLI imports this module while it is itself being imported (plugin loading).
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")
#: Same as `flywheel.cli._common.WaitOption`.
WaitOption = typer.Option(
    0.0,
    "--wait",
    min=0,
    envvar="FLYWHEEL_WAIT",
    help="Seconds to wait when a nightly run or another pipeline command holds the lock "
    "(default: exit at once with one line naming the holder).",
)

app = typer.Typer(
    help="Root cause, owner, severity and priority for every failure cluster.",
    invoke_without_command=True,
)


def _llm(proj: Project) -> LLMClient | None:
    """The project's LLM client when the settings carry an ``llm`` section."""
    config = getattr(proj.settings, "llm", None)
    if not isinstance(config, LLMConfig):
        return None
    run_id = "triage-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return LLMClient(config, store_path=proj.data_dir / "llm.sqlite", run_id=run_id)


@app.callback()
def triage(
    ctx: typer.Context,
    cluster: list[str] = typer.Option(
        [], "--cluster", "-c", help="Only this cluster (repeatable); default: every active one."
    ),
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """Triage the active clusters: name, root cause, owner, severity, priority, evidence.

    ``--json`` prints ``{"clusters": [...], "needs_a_human": [...]}``: the second list holds
    the clusters under the review threshold, with the reasons; the optimizers skip them."""
    if ctx.invoked_subcommand is not None:
        return
    from flywheel.cli._common import console, open_store, print_json, project

    proj = project()
    store = open_store(proj)
    llm = _llm(proj)
    try:
        with run_lock(store, command="flywheel triage", wait=wait):
            records = triage_clusters(
                store, config=load_triage_config(proj.root), llm=llm, cluster_ids=cluster or None
            )
    finally:
        if llm is not None:
            llm.close()
    if json_out:
        print_json(
            {
                "clusters": [record.summary() for record in records],
                "needs_a_human": [r.needs_a_human() for r in records if r.needs_review],
            }
        )
        return
    if not records:
        console.print("no active clusters; run `flywheel cluster` first")
        return
    table = Table(
        "cluster", "name", "root cause", "owner", "sev", "priority", "fix", "conf", "source"
    )
    for r in records:
        table.add_row(
            r.cluster_id,
            escape(r.name)
            + (f"\n[dim]{escape(' / '.join(r.keywords[:3]))}[/dim]" if r.keywords else ""),
            r.root_cause,
            r.component,
            r.severity,
            f"{r.priority:.1f}",
            r.fix_type if r.fixable else "-",
            f"{r.confidence:.2f}" + (" ?" if r.needs_review else ""),
            r.source,
        )
    console.print(table)
    for r in records:
        pattern = r.detail.get("failing_step")
        if isinstance(pattern, dict):
            console.print(f"{r.cluster_id}: {pattern.get('summary')}", highlight=False)
    for r in records:
        if not r.fixable:
            console.print(f"{r.cluster_id} → {r.component}: {r.handoff_reason}", highlight=False)
    review = [r for r in records if r.needs_review]
    if review:
        console.print(f"needs a human ({len(review)}), not sent to the optimizers:")
        for r in review:
            console.print(
                f"  {r.cluster_id} {r.name}: {'; '.join(r.review_reasons)}", highlight=False
            )


@app.command("label")
def label(
    cluster: str = typer.Argument(..., help="Cluster id, e.g. C-0003."),
    root_cause: str = typer.Option(..., "--root-cause", "-r", help="A root cause of the taxonomy."),
    severity: str | None = typer.Option(None, "--severity", "-s", help="S1, S2, S3 or S4."),
    reviewer: str | None = typer.Option(
        None,
        "--reviewer",
        "--actor",
        envvar=["FLYWHEEL_REVIEWER", "FLYWHEEL_ACTOR"],
        help="Who labels: a Flywheel user with the reviewer role or above, signed in like "
        "`approve --as` (--password-stdin, FLYWHEEL_PASSWORD, a stored credential or a prompt). "
        "Required: the shell's $USER is never taken for a Flywheel user.",
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the reviewer's password from standard input."
    ),
    note: str = typer.Option("", "--note", help="Why, in a sentence."),
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """Record a reviewer's root cause (and severity) for a cluster.

    Takes the pipeline's run lock (like `flywheel triage`): a label written while a nightly
    run triages would be read half-way through by its calibration.
    """
    from flywheel.cli._common import console, open_store, print_json, project

    proj = project()
    if not reviewer:
        raise UserError(
            "labelling a cluster needs --reviewer NAME (or FLYWHEEL_REVIEWER): a Flywheel user "
            "with the reviewer role, who signs in; the shell's $USER is not taken for one"
        )
    who = sign_in(proj.data_dir, reviewer, password_stdin=password_stdin)
    if not who.may(Role.reviewer):
        raise UserError(
            f"{who.name} is a {who.role.value}; labelling a cluster needs the reviewer role"
        )
    store = open_store(proj)
    with run_lock(store, command="flywheel triage label", wait=wait):
        saved = label_cluster(
            store,
            cluster,
            root_cause=root_cause,
            severity=severity,
            reviewer=who.name,
            note=note,
            config=load_triage_config(proj.root),
        )
    if json_out:
        print_json(saved)
        return
    console.print(
        f"labelled {saved.cluster_id} {saved.root_cause}"
        + (f" {saved.severity}" if saved.severity else "")
        + f" by {saved.reviewer}"
    )


@app.command("calibrate")
def calibrate_command(json_out: bool = JsonOption) -> None:
    """Agreement of the agent with human labels: Cohen's kappa, precision/recall, confusion."""
    from flywheel.cli._common import console, open_store, print_json

    store = open_store()
    report = calibrate(calibration_pairs(store))
    if json_out:
        print_json(report)
        return
    kappa = "undefined" if report.kappa is None else f"{report.kappa:.3f}"
    console.print(
        f"{report.n} labelled clusters: kappa {kappa}, raw agreement "
        f"{report.raw_agreement if report.raw_agreement is not None else '-'} {report.note}"
    )
    table = Table("root cause", "precision", "recall", "human", "agent")
    for name, row in report.per_category.items():
        table.add_row(
            name, f"{row.precision:.2f}", f"{row.recall:.2f}", str(row.support), str(row.predicted)
        )
    console.print(table)


def bench_triage(
    traces: list[Path] = typer.Option([], "--traces", help="Trace file(s) or folder(s)."),
    labels: Path | None = typer.Option(
        None, "--labels", help="labels.json, or the AgentRx dataset folder (mapped categories)."
    ),
    agentrx: Path | None = typer.Option(
        None,
        "--agentrx",
        help="The AgentRx dataset folder: score the failing step and agent of every labelled "
        "run instead (exact, within 1, agent; random baseline; leave-one-domain-out).",
    ),
    grouping: str = typer.Option(
        "clusters", "--grouping", help="clusters (Flywheel's), truth (true modes) or trace."
    ),
    include_labelled: bool = typer.Option(
        False, "--include-labelled", help="Triage labelled traces even if not detected failing."
    ),
    s1_mode: list[str] = typer.Option(
        [], "--s1-mode", help="A true failure mode that is S1 (repeatable): must not be < S2."
    ),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where the temporary store goes."),
    json_out: bool = JsonOption,
) -> None:
    """Triage quality against labels: cluster accuracy, trace macro-F1, kappa, S1 check.

    With ``--agentrx DIR``: the failing step and agent against AgentRx's root-cause labels.
    """
    from flywheel.cli._common import console, print_json
    from flywheel.cli._logging import chatter

    if agentrx is not None:
        _bench_steps(agentrx, workdir, json_out)
        return
    if not traces or labels is None:
        raise UserError("pass --traces and --labels (or --agentrx DIR for the failing step)")
    if grouping not in ("clusters", "truth", "trace"):
        raise UserError(f"unknown grouping '{grouping}'; valid: clusters, truth, trace")
    log = chatter("triage.bench", json_out)
    report: dict[str, Any] = run_triage_benchmark(
        traces,
        labels,
        grouping=grouping,  # type: ignore[arg-type]
        include_labelled=include_labelled,
        s1_modes=s1_mode,
        workdir=workdir,
        log=log,
    )
    if json_out:
        print_json(report)
        return
    console.print(
        f"{report['clusters']} groups ({report['grouping']}): cluster accuracy "
        f"{report['cluster_accuracy']}, trace macro-F1 {report['trace_macro_f1']}, "
        f"kappa {report['trace_kappa']}, S1 rated below S2: {report['s1_rated_below_s2']}"
    )


def _bench_steps(dataset: Path, workdir: Path | None, json_out: bool) -> None:
    from flywheel.cli._common import console, print_json
    from flywheel.cli._logging import chatter
    from triage._step_bench import run_step_benchmark

    log = chatter("triage.bench.steps", json_out)
    report = run_step_benchmark(dataset, workdir=workdir, log=log)
    if json_out:
        print_json(report)
        return
    table = Table("traces", "n", "exact", "within 1", "agent", "random exact / ±1 / agent")
    rows = [("all", report["overall"]), *list(report["domains"].items())]
    rows += [(f"{d} (held out)", r) for d, r in report["leave_one_domain_out"].items()]
    for name, r in rows:
        rnd = r["random"]
        table.add_row(
            name,
            str(r["traces"]),
            f"{r['exact']:.1%}",
            f"{r['within_1']:.1%}",
            f"{r['agent']:.1%}",
            f"{rnd['exact']:.1%} / {rnd['within_1']:.1%} / {rnd['agent']:.1%}",
        )
    console.print(table)
    console.print(f"rule: {report['rule']}")
    for name, figures in report["published"].items():
        console.print(f"{name}: step {figures['step']:.1%}, agent {figures['agent']:.1%}")
