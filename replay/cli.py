"""`flywheel replay`, `flywheel gate`, `flywheel cases ...` and `flywheel bench replay`.

Added by the plugin `replay._plugin`, so the core never imports it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from flywheel.candidates import CandidateSpec
from flywheel.cli._common import (
    JsonOption,
    WaitOption,
    console,
    err_console,
    open_store,
    print_json,
    project,
)
from flywheel.cli._logging import chatter, progress_shown
from flywheel.config import ComputeConfig, HarnessOptions, ReplayConfig
from flywheel.errors import UserError
from flywheel.store import Store, run_lock
from replay._adapters import AgentAdapter, adapter_from_spec
from replay._bench import run_replay_benchmark
from replay._bench_scale import run_scale_benchmark
from replay._candidates import adhoc_candidate, baseline_ref, config_ref, resolve_candidate
from replay._cases import (
    build_blocking_set,
    build_regression_set,
    build_validation_slice,
    fixed_failures,
)
from replay._executor import with_executor
from replay._gate import GateReport
from replay._models import CaseSet, Suite
from replay._run import SuiteRun, gate_candidate, replay_config, suite_case_sets
from replay._store import ReplayStore

SUITES = ("validation", "regression", "blocking", "all")

CandidateArg = typer.Argument(None, help="Candidate id (resolved by the optimizers).")
ConfigOpt = typer.Option(None, "--config", help="Candidate configuration directory.")
BaselineConfigOpt = typer.Option(
    None, "--baseline-config", help="Baseline configuration directory (with --config)."
)
ClusterOpt = typer.Option(None, "--cluster", help="Cluster whose validation slice is the target.")
IdOpt = typer.Option(None, "--id", help="Name of an ad-hoc candidate (default: dir-<digest>).")
AgentOpt = typer.Option(
    None,
    "--agent",
    envvar="FLYWHEEL_REPLAY_AGENT",
    help="python:pkg.mod:fn | http:URL | langgraph:pkg.mod:factory[,pkg.mod:prepare]",
)
RepeatsOpt = typer.Option(
    None, "--repeats", min=1, envvar="FLYWHEEL_REPLAY_REPEATS", help="Runs per case."
)
ConcurrencyOpt = typer.Option(
    None, "--concurrency", min=1, envvar="FLYWHEEL_REPLAY_CONCURRENCY", help="Cases in flight."
)
TimeoutOpt = typer.Option(
    None, "--timeout", min=0.001, envvar="FLYWHEEL_REPLAY_TIMEOUT", help="Seconds per case."
)
RetryOpt = typer.Option(False, "--retry-errors", help="Run again cases that errored before.")


def _settings() -> tuple[ReplayConfig, Store]:
    proj = project()
    return proj.settings.replay, open_store(proj)


def _options(
    cfg: ReplayConfig,
    repeats: int | None,
    concurrency: int | None,
    timeout: float | None,
    retry: bool,
) -> HarnessOptions:
    update: dict[str, object] = {"retry_errors": retry or cfg.harness.retry_errors}
    for key, value in (("repeats", repeats), ("concurrency", concurrency), ("timeout_s", timeout)):
        if value is not None:
            update[key] = value
    return cfg.harness.model_copy(update=update)


def _candidate(
    candidate: str | None,
    config: Path | None,
    baseline_config: Path | None,
    cluster: str | None,
    name: str | None,
) -> CandidateSpec:
    if config is not None or baseline_config is not None:
        if config is None or baseline_config is None:
            raise UserError("--config and --baseline-config go together")
        return adhoc_candidate(
            config, baseline_config, cluster_id=cluster, candidate_id=name or candidate
        )
    if candidate is None:
        raise UserError("name a CANDIDATE, or pass --config DIR --baseline-config DIR")
    return resolve_candidate(candidate, project=project())


def _agent(cfg: ReplayConfig, spec: str | None, concurrency: int) -> AgentAdapter:
    spec = spec or cfg.agent
    if not spec:
        raise UserError(
            "no agent to replay: pass --agent python:package.module:function (or http:URL), "
            "set FLYWHEEL_REPLAY_AGENT, or replay.agent in flywheel.toml"
        )
    agent = adapter_from_spec(spec, concurrency=concurrency)
    return with_executor(agent, project().settings.compute, concurrency=concurrency)


def replay(
    candidate: str | None = CandidateArg,
    baseline: bool = typer.Option(
        False, "--baseline", help="Replay the candidate's baseline configuration instead."
    ),
    suite: str = typer.Option("all", "--suite", help="validation | regression | blocking | all"),
    config: Path | None = ConfigOpt,
    baseline_config: Path | None = BaselineConfigOpt,
    cluster: str | None = ClusterOpt,
    name: str | None = IdOpt,
    agent: str | None = AgentOpt,
    repeats: int | None = RepeatsOpt,
    concurrency: int | None = ConcurrencyOpt,
    timeout: float | None = TimeoutOpt,
    retry_errors: bool = RetryOpt,
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """Replay a candidate (or its baseline) on the stored case sets; results are cached."""
    if suite not in SUITES:
        raise UserError(f"unknown suite '{suite}'; valid: {', '.join(SUITES)}")
    cfg, db = _settings()
    store = ReplayStore(db)
    ref = _candidate(candidate, config, baseline_config, cluster, name)
    options = _options(cfg, repeats, concurrency, timeout, retry_errors)
    adapter = _agent(cfg, agent, options.concurrency)
    wanted = tuple(Suite) if suite == "all" else (Suite(suite),)
    target = baseline_ref(ref) if baseline else config_ref(ref)
    label = "baseline" if baseline else ref.id

    async def go() -> dict[Suite, SuiteRun]:
        try:
            return await replay_config(
                target,
                store=store,
                agent=adapter,
                case_sets=sets,
                options=options,
                label=label,
                candidate_id=None if baseline else ref.id,
                progress=not json_out and progress_shown() and err_console,
            )
        finally:
            await adapter.aclose()

    with run_lock(db, command="flywheel replay", wait=wait):
        sets = suite_case_sets(store, ref.cluster_id, wanted)
        runs = asyncio.run(go())
    rows = []
    for suite_name, run in runs.items():
        outcome = run.outcome
        counts = outcome.counts()
        judged = counts["pass"] + counts["fail"]
        rows.append(
            {
                "suite": suite_name.value,
                "case_set": run.case_set.digest,
                "cases": len(run.case_set.cases),
                "repeats": options.repeats,
                **counts,
                "pass_rate": counts["pass"] / judged if judged else None,
                "errors_by_kind": outcome.errors_by_kind,
                "run_id": outcome.run_id,
            }
        )
    if json_out:
        print_json(
            {"candidate_id": ref.id, "config": label, "config_digest": target.digest, "runs": rows}
        )
        return
    table = Table("suite", "cases", "repeats", "pass", "fail", "error", "ran", "cached")
    for row in rows:
        table.add_row(
            *(
                str(row[k])
                for k in ("suite", "cases", "repeats", "pass", "fail", "error", "ran", "cached")
            )
        )
    console.print(f"{label} ({target.directory})")
    console.print(table)


def gate(
    candidate: str | None = CandidateArg,
    config: Path | None = ConfigOpt,
    baseline_config: Path | None = BaselineConfigOpt,
    cluster: str | None = ClusterOpt,
    name: str | None = IdOpt,
    agent: str | None = AgentOpt,
    repeats: int | None = RepeatsOpt,
    concurrency: int | None = ConcurrencyOpt,
    timeout: float | None = TimeoutOpt,
    retry_errors: bool = RetryOpt,
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """Decide pass / fail / inconclusive for a candidate (replaying what is not cached yet)."""
    cfg, db = _settings()
    store = ReplayStore(db)
    ref = _candidate(candidate, config, baseline_config, cluster, name)
    options = _options(cfg, repeats, concurrency, timeout, retry_errors)
    adapter = _agent(cfg, agent, options.concurrency)

    async def go() -> GateReport:
        try:
            return await gate_candidate(
                ref,
                store=store,
                agent=adapter,
                options=options,
                gate=cfg.gate,
                progress=not json_out and progress_shown() and err_console,
            )
        finally:
            await adapter.aclose()

    with run_lock(db, command="flywheel gate", wait=wait):
        report = asyncio.run(go())
    data = report.model_dump(mode="json")
    if json_out:
        print_json(data)
        return
    colour = {"pass": "green", "fail": "red"}.get(data["decision"], "yellow")
    console.print(f"[{colour}]{data['decision']}[/] {data['candidate_id']}", highlight=False)
    for reason in data["reasons"]:
        console.print(f"  - {reason}", highlight=False)
    t, r, g = data["target"], data["regression"], data["guardrails"]
    console.print(
        f"target: {t['cases']} cases, pass {_pct(t['baseline_pass'])} -> "
        f"{_pct(t['candidate_pass'])}, {t['fixed']} fixed, {t['broken']} broken, "
        f"p={_num(t['p_value'], '.3g')} (Holm {_num(t['p_value_holm'], '.3g')}), "
        f"MDE {_pct(t['mde'])}",
        highlight=False,
    )
    console.print(
        f"regression: {r['cases']} cases, delta {_pct(r['delta'])} "
        f"CI [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}], margin {_pct(r['margin'])}, "
        f"MDE {_pct(r['mde'])}; blocking: {len(data['blocking']['broken'])} broken",
        highlight=False,
    )
    console.print(
        f"guardrails: latency p95 x{_num(g['latency_p95_ratio'])}, cost "
        f"x{_num(g['cost_ratio'])}, tool calls x{_num(g['tool_calls_ratio'])}",
        highlight=False,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}" if value < 0 else f"{value:.1%}"


def _num(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


cases_app = typer.Typer(help="Case sets: build, list, show.", no_args_is_help=True)
build_app = typer.Typer(help="Build a case set from the stored traces.", no_args_is_help=True)
cases_app.add_typer(build_app, name="build")


def _saved(case_set: CaseSet, json_out: bool) -> None:
    """Store the case set (under the caller's run lock) and say what was stored."""
    store = ReplayStore(open_store())
    digest = store.save_case_set(case_set)
    info = {
        "digest": digest,
        "name": case_set.name,
        "suite": case_set.suite.value,
        "cases": len(case_set.cases),
        "detail": case_set.detail,
    }
    if json_out:
        print_json(info)
    else:
        console.print(f"{info['suite']} set {info['name']}: {info['cases']} cases, {digest}")


@build_app.command("validation")
def build_validation(
    cluster: str = typer.Option(..., "--cluster", help="Cluster id (C-0007)."),
    holdout: float = typer.Option(0.3, "--holdout", help="Share held out from the optimizer."),
    seed: int = typer.Option(0, "--seed"),
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """The held-out slice of a cluster's traces (the optimizer never sees it)."""
    store = open_store()
    with run_lock(store, command="flywheel cases build validation", wait=wait):
        case_set = build_validation_slice(store, cluster, holdout=holdout, seed=seed)
        _saved(case_set, json_out)


@build_app.command("regression")
def build_regression(
    size: int = typer.Option(500, "--size", min=1),
    days: float = typer.Option(7.0, "--days", help="Sample the last N days of traffic."),
    seed: int = typer.Option(0, "--seed"),
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """A sample of recent traffic stratified by route / intent / cluster, plus fixed failures."""
    store = open_store()
    with run_lock(store, command="flywheel cases build regression", wait=wait):
        fixed = fixed_failures(store)
        case_set = build_regression_set(store, size=size, days=days, seed=seed, fixed=fixed)
        _saved(case_set, json_out)


@build_app.command("blocking")
def build_blocking(
    trace_ids: list[str] = typer.Argument(..., help="Ids of the severe traces."),
    wait: float = WaitOption,
    json_out: bool = JsonOption,
) -> None:
    """A small set of severe cases: none that passes at baseline may fail."""
    store = open_store()
    with run_lock(store, command="flywheel cases build blocking", wait=wait):
        case_set = build_blocking_set(store, trace_ids)
        _saved(case_set, json_out)


@cases_app.command("list")
def list_sets(
    suite: str | None = typer.Option(None, "--suite", help="validation | regression | blocking"),
    json_out: bool = JsonOption,
) -> None:
    """Every stored case set version (oldest first)."""
    if suite is not None and suite not in SUITES[:3]:
        raise UserError(f"unknown suite '{suite}'; valid: {', '.join(SUITES[:3])}")
    rows = ReplayStore(open_store()).list_case_sets(Suite(suite) if suite else None)
    if json_out:
        print_json(rows)
        return
    table = Table("digest", "suite", "name", "cluster", "cases", "created")
    for row in rows:
        table.add_row(
            row["digest"][:12],
            row["suite"],
            row["name"],
            row["cluster_id"] or "",
            str(row["size"]),
            row["created_at"].isoformat(timespec="seconds"),
        )
    console.print(table)


@cases_app.command("show")
def show_set(
    digest: str = typer.Argument(..., help="Digest (or a unique prefix of 6+ characters)."),
    json_out: bool = JsonOption,
) -> None:
    """The cases of one case set version."""
    case_set = ReplayStore(open_store()).case_set(digest)
    if json_out:
        print_json({"digest": case_set.digest, **case_set.model_dump(mode="json")})
        return
    console.print(f"{case_set.suite.value} set {case_set.name} {case_set.digest}")
    table = Table("case", "session", "stratum", "input")
    for case in case_set.cases:
        text = str(case.inputs.get("input", case.inputs))[:80]
        table.add_row(case.case_id[:16], (case.session_id or "")[:12], case.stratum or "", text)
    console.print(table)


def bench_replay(
    latency_ms: float = typer.Option(50.0, "--latency-ms", help="The stand-in agent's latency."),
    concurrency: list[int] = typer.Option(
        [1, 8, 32, 128], "--concurrency", help="Levels to measure (repeat the option)."
    ),
    seconds: float = typer.Option(3.0, "--seconds", help="Ideal seconds of work per level."),
    json_out: bool = JsonOption,
) -> None:
    """Harness throughput against an agent of fixed latency (ideal: concurrency / latency)."""
    log = (lambda _m: None) if json_out else (lambda m: console.print(m, highlight=False))
    report = run_replay_benchmark(
        latency_ms=latency_ms, concurrencies=concurrency, seconds=seconds, log=log
    )
    if json_out:
        print_json(report)


def bench_scale(
    executor: str = typer.Option(
        "ray:auto",
        "--executor",
        help="The Ray cluster (ray:auto starts a local one; ray://HOST:PORT, ray:HOST:PORT).",
    ),
    latency_ms: float = typer.Option(50.0, "--latency-ms", help="The stand-in agent's latency."),
    concurrency: int = typer.Option(16, "--concurrency", min=1, help="Cases in flight, for all."),
    cases: int = typer.Option(600, "--cases", min=10, help="Cases per replay."),
    runs: int = typer.Option(3, "--runs", min=1, help="Replays per setting (medians reported)."),
    embed_texts: int = typer.Option(
        0, "--embed-texts", min=0, help="Also embed this many texts locally and on Ray."
    ),
    json_out: bool = JsonOption,
) -> None:
    """Replay cases/s: the local executor vs Ray with 1 and 2 workers, same concurrency."""
    try:  # a bad address is a one-line error before any work
        ComputeConfig(executor=executor)
    except ValidationError as exc:
        raise UserError(f"--executor: {exc.errors(include_url=False)[0]['msg']}") from None
    log = chatter("replay.bench.scale", json_out)
    report = run_scale_benchmark(
        executor=executor,
        latency_ms=latency_ms,
        concurrency=concurrency,
        cases=cases,
        runs=runs,
        embed_texts=embed_texts,
        log=log,
    )
    if json_out:
        print_json(report)
        return
    for row in report["settings"]:
        console.print(
            f"{row['executor']}: {row['cases_per_s_median']} cases/s, "
            f"{row['vs_local']:.0%} of local (ideal {report['ideal_cases_per_s']}), driver CPU "
            f"{row['driver_cpu_ms_per_case_median']} ms/case, start-up {row['startup_s_median']} s"
        )
