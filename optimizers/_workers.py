"""Producing candidates: one job per fixable cluster, run on a pluggable executor.

A job runs the chosen strategies on one cluster's task and turns each proposal into a branch
(`ConfigWorkspace.create_candidate`). Jobs for different clusters run in parallel (a process
pool by default; any `concurrent.futures.Executor`, e.g. a Ray or Dask one, will do). Jobs own
disjoint refs and worktrees (``flywheel/<cluster>/...``) and take the workspace lock for git
metadata, and the numbers in branch names are fixed before the jobs start, so a parallel run
makes the same candidates as a serial one. Results are written to the store by the caller's
process, in cluster order.

Caps (the project's ``[optimize]``, `flywheel.config.OptimizeSettings`): at most
``max_candidates_per_cluster`` branches per cluster (``max_per_strategy`` per strategy), and a
total cost budget (``max_total_cost_usd``) shared out evenly between the jobs up front
(deterministic, unlike a first-come budget). Anything a strategy does wrong is a recorded failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from flywheel.config import OptimizeSettings
from flywheel.fixes import canonical_fix_type
from flywheel.splits import DEFAULT_HOLDOUT, DEFAULT_SEED
from flywheel.store import Store
from flywheel.trace import Trace
from optimizers._fixability import first_fix_type, is_config_fixable, owner_of
from optimizers._naming import one_line
from optimizers._protocol import NothingToPropose, Strategy
from optimizers._registry import resolve_strategies
from optimizers._sanitise import is_instruction_like
from optimizers._split import Split, build_task, default_signature, make_split
from optimizers._store import CandidateRecord, Handoff, OptimizerStore, candidate_row
from optimizers._task import FIX_TYPES, OptimizationTask, Proposal
from optimizers._workspace import CandidateFailure, ConfigWorkspace, WorkspaceInfo

T = TypeVar("T")


class ClusterInput(BaseModel):
    """One cluster with its triage, as the optimizer needs it (see `tasks` for the adapter)."""

    model_config = ConfigDict(extra="forbid")

    cluster_id: str
    label: str = ""
    keywords: list[str] = Field(default_factory=list)
    root_cause: str
    fixable: bool | None = None
    fix_type: str | None = None
    owner: str | None = None
    #: Triage left the decision to a human (confidence under its review threshold): the
    #: optimizers never spend a night on such a cluster, whatever ``fixable`` says.
    needs_review: bool = False
    #: Triage's one-line reason when the cluster goes to its owner instead.
    handoff_reason: str | None = None
    #: All failing traces of the cluster: the split is made here, strategies get one part.
    failing: list[Trace]
    neighbours: list[Trace] = Field(default_factory=list)
    #: trace id -> failure signature (stratification); default: route, path and errors.
    signatures: dict[str, str] | None = None
    first_seen: datetime | None = None


class Job(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    workspace: WorkspaceInfo
    task: OptimizationTask
    strategies: list[Any]
    first_numbers: dict[str, int]
    max_candidates: int
    max_per_strategy: int
    budget_usd: float


class OptimizeResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidates: list[CandidateRecord] = Field(default_factory=list)
    failures: list[CandidateRecord] = Field(default_factory=list)
    handoffs: list[Handoff] = Field(default_factory=list)


class InlineExecutor(Executor):
    """Runs each job in the calling thread: the serial reference for the parallel run."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def run_job(job: Job) -> list[CandidateRecord]:
    """Run one cluster's strategies and make their branches (in a worker process): a
    ``proposed`` record per branch, a ``failed`` one per attempt that made none."""
    workspace = ConfigWorkspace(job.workspace)
    attempts: list[CandidateRecord] = []
    made, spent = 0, 0.0
    silent: list[str] = []  # why each strategy proposed nothing
    if not job.task.failing:
        return [failed(job.task, "*", _all_held_out(job))]
    for strategy in job.strategies:
        name = str(getattr(strategy, "name", type(strategy).__name__))
        remaining = job.max_candidates - made
        if remaining <= 0:
            break
        try:
            proposals = strategy.propose(job.task, limit=min(job.max_per_strategy, remaining))
            proposals = [Proposal.model_validate(p) for p in list(proposals)]
        except NothingToPropose as exc:
            silent.append(f"{name}: {one_line(str(exc), max_len=300)}")
            continue
        except Exception as exc:
            attempts.append(failed(job.task, name, _reason(exc)))
            continue
        if not proposals:
            silent.append(f"{name}: does not apply to {job.task.root_cause}/{job.task.fix_type}")
        number = job.first_numbers.get(name, 1)
        for proposal in proposals[: min(job.max_per_strategy, remaining)]:
            if spent + proposal.cost_usd > job.budget_usd:
                cap = f"cost cap reached ({spent:.4f} of {job.budget_usd:.4f} USD)"
                attempts.append(failed(job.task, name, cap, rationale=proposal.rationale))
                continue
            spent += proposal.cost_usd
            attempts.append(_materialise(workspace, job.task, name, number, proposal))
            number += 1
            made += attempts[-1].status == "proposed"
    if made == 0:
        reason = one_line(
            f"no candidate for {job.task.cluster_id} ({job.task.root_cause}, "
            f"{len(job.task.failing)} optimisation traces): " + "; ".join(silent),
            max_len=1000,
        )
        attempts.append(failed(job.task, "*", reason))
    return attempts


def _all_held_out(job: Job) -> str:
    return (
        f"no candidate for {job.task.cluster_id}: all its failing traces fell into the frozen "
        "validation part of the split, so no strategy has evidence to learn from; it gets "
        "candidates once more traces join the cluster"
    )


def failed(task: OptimizationTask, strategy: str, reason: str, **more: Any) -> CandidateRecord:
    """The record of an attempt on ``task`` that made no branch, and why."""
    return CandidateRecord(
        cluster_id=task.cluster_id,
        strategy=strategy,
        status="failed",
        reason=reason,
        root_cause=task.root_cause,
        fix_type=task.fix_type,
        **more,
    )


def _materialise(
    workspace: ConfigWorkspace, task: OptimizationTask, name: str, number: int, proposal: Proposal
) -> CandidateRecord:
    base = failed(
        task, name, "", number=number, rationale=proposal.rationale, cost_usd=proposal.cost_usd
    )
    injected = injected_lines(task.config_files, proposal.edits)
    if injected:
        return base.model_copy(
            update={
                "reason": one_line(
                    f"refused: the proposal adds instruction-like text ({injected[0]!r}); "
                    "production text must not instruct the agent or its reviewers",
                    max_len=500,
                )
            }
        )
    try:
        branch = workspace.create_candidate(
            cluster_id=task.cluster_id,
            strategy=name,
            number=number,
            edits=proposal.edits,
            base_commit=task.base_commit,
            subject=f"flywheel: {name} fix for {task.cluster_id} {task.label}",
            body=proposal.rationale,
            trailers={
                "Flywheel-Cluster": task.cluster_id,
                "Flywheel-Root-Cause": task.root_cause,
                "Flywheel-Strategy": name,
                "Flywheel-Rationale": proposal.rationale,
            },
        )
    except CandidateFailure as exc:
        return base.model_copy(update={"reason": str(exc)})
    except Exception as exc:
        return base.model_copy(update={"reason": _reason(exc)})
    return base.model_copy(
        update={
            "status": "proposed",
            "branch": branch.branch,
            "worktree": str(branch.worktree),
            "base_commit": branch.base_commit,
            "head_commit": branch.head_commit,
            "files_changed": branch.files_changed,
        }
    )


def injected_lines(before: dict[str, str], edits: dict[str, str]) -> list[str]:
    """Lines a proposal adds that talk to the model or a reviewer (a prompt injection).

    The safety net behind every strategy, a plug-in's or one driven by an LLM that read the
    traces: lines already in the configuration are not held against it.
    """
    found: list[str] = []
    for name, text in edits.items():
        if not isinstance(text, str):
            continue
        old = set(before.get(name, "").splitlines())
        found += [
            line.strip()
            for line in text.splitlines()
            if line not in old and is_instruction_like(line)
        ]
    return found


def _reason(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" (at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno})" if where else ""
    return one_line(f"{type(exc).__name__}: {exc}{place}", max_len=500)


def default_executor(jobs: int, max_workers: int | None) -> Executor:
    workers = max_workers or min(jobs, os.cpu_count() or 1)
    return ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
    )


def _die_with_parent() -> None:
    """Linux: a worker is killed when the run that started it dies (``kill -9`` included).

    Otherwise an orphaned worker could go on making a branch after the resumed run has
    cleared the orphans, and collide with it.
    """
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def prepare_split(ostore: OptimizerStore, cluster: ClusterInput) -> Split:
    """The cluster's recorded split, extended to new traces, saved."""
    signatures = cluster.signatures or {}
    by_id = {
        t.trace_id: signatures.get(t.trace_id) or default_signature(t) for t in cluster.failing
    }
    previous = ostore.load_split(cluster.cluster_id)
    split = make_split(
        cluster.cluster_id,
        by_id,
        # The core split rule's parameters (`flywheel.splits`): replay uses the same ones.
        seed=previous.seed if previous else DEFAULT_SEED,
        fraction=previous.fraction if previous else DEFAULT_HOLDOUT,
        previous=previous,
    )
    ostore.save_split(split)
    return split


def optimize(
    store: Store,
    workspace: ConfigWorkspace,
    clusters: Sequence[ClusterInput],
    *,
    strategies: Sequence[Strategy | str] | None = None,
    config: OptimizeSettings | None = None,
    executor: Executor | None = None,
) -> OptimizeResult:
    """Propose candidates for every fixable cluster; hand the others to their owner, within
    the caps of ``config`` (the project's ``[optimize]``; default: its defaults)."""
    config = config or OptimizeSettings()
    chosen = resolve_strategies(strategies)
    ostore = OptimizerStore(store)
    result = OptimizeResult()
    # A crashed earlier run may have left branches without records: clear them, so the
    # numbers below (from the records) name free branches again.
    workspace.clean_orphans({r.branch for r in ostore.candidates() if r.branch})
    files = workspace.config_files()
    base = workspace.head_commit()
    changes = workspace.recent_changes()
    jobs: list[Job] = []
    for cluster in sorted(clusters, key=lambda c: c.cluster_id):
        fixable = (
            cluster.fixable
            if cluster.fixable is not None
            else is_config_fixable(cluster.root_cause)
        )
        if not fixable or cluster.needs_review:
            why = cluster.handoff_reason or (
                "triage needs a human first"
                if cluster.needs_review
                else f"root cause '{cluster.root_cause}' is not fixable by configuration"
            )
            handoff = Handoff(
                cluster_id=cluster.cluster_id,
                root_cause=cluster.root_cause,
                owner=cluster.owner or owner_of(cluster.root_cause),
                reason=f"{why}; {len(cluster.failing)} failing traces handed to its owner",
                evidence={
                    "label": cluster.label,
                    "trace_ids": [t.trace_id for t in cluster.failing[:20]],
                },
            )
            ostore.add_handoff(handoff)
            result.handoffs.append(handoff)
            continue
        split = prepare_split(ostore, cluster)
        task = build_task(
            split,
            cluster.failing,
            cluster.neighbours,
            label=cluster.label,
            keywords=cluster.keywords,
            root_cause=cluster.root_cause,
            fix_type=_fix_type(cluster),
            config_files=files,
            base_commit=base,
            first_seen=cluster.first_seen,
            recent_changes=changes,
        )
        split.check(task)
        numbers = {s.name: ostore.next_number(cluster.cluster_id, s.name) for s in chosen}
        jobs.append(
            Job(
                workspace=workspace.info,
                task=task,
                strategies=list(chosen),
                first_numbers=numbers,
                max_candidates=config.max_candidates_per_cluster,
                max_per_strategy=config.max_per_strategy,
                budget_usd=config.max_total_cost_usd / max(1, len(clusters)),
            )
        )
    if not jobs:
        return result
    own = executor is None
    pool = executor or default_executor(len(jobs), config.max_workers)
    try:
        futures = [pool.submit(run_job, job) for job in jobs]
        outcomes: list[list[CandidateRecord] | BaseException] = []
        for future in futures:
            try:
                outcomes.append(future.result())
            except Exception as exc:
                outcomes.append(exc)
    finally:
        if own:
            pool.shutdown()
    rows: list[dict[str, Any]] = []
    for job, outcome in zip(jobs, outcomes, strict=True):
        attempts = (
            outcome
            if isinstance(outcome, list)
            else [failed(job.task, "*", f"worker failed: {_reason(outcome)}")]
        )
        rows.extend(candidate_row(a, trace_ids=job.task.trace_ids) for a in attempts)
    # One transaction: a crash leaves either every record of the night or none (and then
    # only orphan branches, which the next run clears).
    for record in ostore.add_candidates(rows):
        (result.candidates if record.status == "proposed" else result.failures).append(record)
    return result


def _fix_type(cluster: ClusterInput) -> str:
    for given in (cluster.fix_type, first_fix_type(cluster.root_cause)):
        name = canonical_fix_type(given or "")  # a triage record stored by an older version
        if name in FIX_TYPES:
            return name
    return "prompt_edit"
