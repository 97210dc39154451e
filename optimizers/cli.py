"""`flywheel optimize`, `flywheel candidates`, `flywheel candidate show|reject`.

Added to the core CLI by the plugin `optimizers._plugin`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from flywheel.cli._common import JsonOption, console, open_store, print_json, project
from flywheel.errors import UserError
from flywheel.store import Store, run_lock
from optimizers._adapter import TriageVerdict, clusters_from_store
from optimizers._candidates import candidate_diff, close_candidate
from optimizers._configured import configured_strategies
from optimizers._registry import strategy_names
from optimizers._store import CandidateRecord, OptimizerStore
from optimizers._workers import optimize as run_optimize
from optimizers._workspace import open_workspace

app = typer.Typer(help="Candidate configuration fixes, each in its own git branch.")
candidate_app = typer.Typer(help="One candidate: its diff, or reject it.")


def _summary(record: CandidateRecord) -> dict[str, Any]:
    return {
        "candidate_id": record.candidate_id,
        "cluster_id": record.cluster_id,
        "strategy": record.strategy,
        "branch": record.branch,
        "base_commit": record.base_commit,
        "files_changed": record.files_changed,
        "rationale": record.rationale,
    }


def _verdicts(store: Store) -> dict[str, TriageVerdict]:
    """The newest triage of each cluster (from the triage package, loaded lazily)."""
    import triage  # ships in the same distribution as the optimizers

    reader: Callable[[Store], dict[str, dict[str, Any]]] | None = getattr(
        triage, "latest_records", None
    )
    if reader is None:  # until triage's façade exports it
        from triage._store import latest_records

        reader = latest_records
    records = reader(store)
    if not records:
        raise UserError("no triaged clusters; run `flywheel cluster` then `flywheel triage` first")
    return {
        cid: TriageVerdict(
            root_cause=str(r["root_cause"]),
            fixable=bool(r.get("fixable")),
            fix_type=r.get("fix_type"),
            owner=r.get("component"),
            needs_review=bool((r.get("detail") or {}).get("needs_review")),
            handoff_reason=(r.get("detail") or {}).get("handoff_reason") or None,
        )
        for cid, r in records.items()
    }


@app.command("optimize")
def optimize(
    cluster: list[str] = typer.Option(None, "--cluster", help="Only this cluster (repeatable)."),
    strategy: list[str] = typer.Option(
        None, "--strategy", help="Strategy name (repeatable; default: the offline ones)."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Propose candidate fixes for fixable clusters; hand the others to their owner."""
    for name in strategy or []:
        if name not in strategy_names():
            raise UserError(f"unknown strategy '{name}'; valid: {', '.join(strategy_names())}")
    proj = project()
    chosen = configured_strategies(strategy, proj)
    workspace = open_workspace(proj)
    store = open_store(proj)
    inputs = clusters_from_store(store, _verdicts(store), cluster_ids=cluster or None)
    if cluster and not inputs:
        raise UserError(f"no triaged active cluster among {', '.join(cluster)}")
    # Under the pipeline lock: optimize clears branches no record names, which a concurrent
    # nightly's optimize would still be making.
    with run_lock(store, command="flywheel optimize"):
        result = run_optimize(
            store, workspace, inputs, strategies=chosen, config=proj.settings.optimize
        )
    if json_out:
        print_json([_summary(c) for c in result.candidates])
        return
    for record in result.candidates:
        console.print(f"[green]{record.branch}[/] {record.rationale}", highlight=False)
    for record in result.failures:
        console.print(
            f"[red]failed[/] {record.cluster_id} {record.strategy}: {record.reason}",
            highlight=False,
        )
    for handoff in result.handoffs:
        console.print(
            f"[yellow]hand-off[/] {handoff.cluster_id} → {handoff.owner}: {handoff.reason}"
        )
    console.print(
        f"{len(result.candidates)} candidates, {len(result.failures)} failures, "
        f"{len(result.handoffs)} hand-offs"
    )


@app.command("candidates")
def candidates(json_out: bool = JsonOption) -> None:
    """List candidates (and failed attempts)."""
    records = OptimizerStore(open_store()).candidates()
    if json_out:
        print_json([{**_summary(r), "status": r.status, "reason": r.reason} for r in records])
        return
    for r in records:
        where = r.branch or r.reason
        console.print(
            f"{r.candidate_id:>5} {r.status:<9} {r.cluster_id} {r.strategy} {where}",
            highlight=False,
        )


@candidate_app.command("show")
def show(
    candidate_id: int = typer.Argument(..., help="Candidate id."), json_out: bool = JsonOption
) -> None:
    """A candidate with its diff."""
    proj = project()
    store = open_store(proj)
    record = OptimizerStore(store).candidate(candidate_id)
    diff = candidate_diff(store, open_workspace(proj), candidate_id) if record.branch else ""
    if json_out:
        print_json(
            {**_summary(record), "status": record.status, "reason": record.reason, "diff": diff}
        )
        return
    console.print(
        f"candidate {record.candidate_id} [{record.status}] {record.branch or ''}", highlight=False
    )
    console.print(record.rationale or record.reason, highlight=False)
    if diff:
        console.print(diff, highlight=False, markup=False)


@candidate_app.command("reject")
def reject(
    candidate_id: int = typer.Argument(..., help="Candidate id."),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Reject a candidate: its worktree and branch are removed."""
    proj = project()
    record = close_candidate(
        open_store(proj), open_workspace(proj), candidate_id, status="rejected", reason=reason
    )
    console.print(f"candidate {record.candidate_id} rejected", highlight=False)


app.add_typer(candidate_app, name="candidate")
