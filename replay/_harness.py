"""The replay harness: every (case, repeat) of a case set through an agent, under a config.

asyncio with a fixed pool of workers (the concurrency limit), a per-case timeout, k repeats,
results cached by (configuration digest, case digest, repeat). A worker starts its next agent
call as soon as the previous one answers; scoring runs beside it. Each scored result goes to a
writer thread that commits it at once (with whatever else finished meanwhile, in one
transaction), so a killed replay resumes where it stopped: a rerun runs only the keys with no
stored result. An agent that raises,
hangs or answers garbage, and a scorer that raises, give a result with ``status="error"``:
data, never an exception out of the harness.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from flywheel.config import HarnessOptions
from flywheel.trace import Trace
from replay._adapters import AgentAdapter, InvalidTrace, WorkerLost
from replay._models import Case, CaseResult, CaseSet, Check, ConfigRef, Status
from replay._scorers import Scorer, scorer_key, scorers_named, verdict
from replay._store import ReplayStore


@dataclass(repr=False)
class ReplayOutcome:
    """What one replay produced: every result of the case set, and where each came from."""

    config_digest: str
    set_digest: str
    run_id: str | None
    results: list[CaseResult]
    ran: int = 0
    cached: int = 0
    rescored: int = 0
    elapsed_s: float = 0.0
    errors_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(self.errors_by_kind.values())

    def __repr__(self) -> str:  # short: asyncio prints finished tasks' results
        return f"ReplayOutcome({len(self.results)} results, ran={self.ran}, cached={self.cached})"

    def counts(self) -> dict[str, int]:
        by_status = {status.value: 0 for status in Status}
        for result in self.results:
            by_status[result.status.value] += 1
        return {**by_status, "ran": self.ran, "cached": self.cached, "rescored": self.rescored}


class _Writer:
    """Commits results from a thread so that the event loop never waits on the database.

    Group commit: the thread commits whatever finished while it was writing the previous batch,
    over one connection held for the run. (Waking it on a timer instead, to write fewer and
    larger batches, measured slower: a large batch holds the GIL long enough to delay the
    event loop's timers, and a result would wait up to one period to become durable.)
    """

    def __init__(self, store: ReplayStore, run_id: str) -> None:
        self._sink = store.result_writer(run_id)
        self._queue: queue.Queue[CaseResult | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="replay-writer", daemon=True)
        self.failure: BaseException | None = None
        self._thread.start()

    def put(self, result: CaseResult) -> None:
        self._queue.put(result)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self.failure is not None:
            raise self.failure

    def _loop(self) -> None:
        done = False
        while not done:
            batch: list[CaseResult] = []
            item = self._queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= 500:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            done = item is None
            if batch and self.failure is None:
                try:
                    self._sink.write(batch)
                except BaseException as exc:  # surfaced by close(), the run must not go on
                    self.failure = exc


async def replay_case_set(
    case_set: CaseSet,
    config: ConfigRef,
    agent: AgentAdapter,
    *,
    store: ReplayStore | None = None,
    scorers: Sequence[Scorer] | None = None,
    options: HarnessOptions | None = None,
    label: str = "replay",
    candidate_id: str | None = None,
    progress: bool | Console = False,
    keep_traces: bool = False,
) -> ReplayOutcome:
    """Replay every case ``options.repeats`` times under ``config``; see the module docstring.

    Without a ``store`` nothing is cached or persisted. Results come back in case order, then
    repeat order, whether they were run now, cached, or re-scored from a cached trace.
    """
    options = options or HarnessOptions()
    scorers = list(scorers) if scorers is not None else scorers_named(options.scorers)
    key = scorer_key(scorers)
    config_digest = config.digest
    began = time.perf_counter()
    keys = [(case, repeat) for case in case_set.cases for repeat in range(options.repeats)]
    stored = store.results(config_digest, (c.digest for c in case_set.cases)) if store else {}
    plan = _plan(keys, stored, key, retry_errors=options.retry_errors)
    outcome = ReplayOutcome(config_digest, case_set.digest, None, [], cached=len(plan.done))
    writer = None
    resumed = store.interrupted_run(config_digest, case_set.digest) if store else None
    if store is not None and (plan.todo or plan.rescore or resumed):
        outcome.run_id = resumed or store.start_run(
            label=label,
            config=config,
            config_digest=config_digest,
            set_digest=case_set.digest,
            repeats=options.repeats,
            candidate_id=candidate_id,
        )
        store.delete_results(config_digest, plan.retry)  # a retried error is replaced, not kept
        writer = _Writer(store, outcome.run_id)
    status = "interrupted"
    bar = _progress(progress, f"{label}", len(plan.todo) + len(plan.rescore))
    scoring = _Scoring(config_digest, scorers, key)
    try:
        if plan.rescore and store is not None:
            rescored = await _rescore(plan, store, scoring, bar)
            store.replace_results(outcome.run_id or "", rescored)
            outcome.rescored = len(rescored)

        def record(result: CaseResult) -> None:
            if writer is not None:
                writer.put(result)
            plan.done[(result.case_digest, result.repeat)] = (
                result if keep_traces else result.model_copy(update={"trace": None})
            )
            outcome.ran += 1
            if bar is not None:
                bar.advance()

        await _run_cases(plan.todo, config, agent, options, scoring, record)
        status = "completed"
    finally:
        if bar is not None:
            bar.stop()
        if writer is not None:
            writer.close()
        _collect(outcome, plan.done, keys)
        outcome.elapsed_s = time.perf_counter() - began
        if store is not None and outcome.run_id is not None:
            store.finish_run(outcome.run_id, status, outcome.counts())
    return outcome


@dataclass
class _Plan:
    """What a replay does with each (case, repeat): reuse, run, or re-score a stored trace."""

    done: dict[tuple[str, int], CaseResult] = field(default_factory=dict)
    todo: list[tuple[Case, int]] = field(default_factory=list)
    rescore: list[tuple[Case, int]] = field(default_factory=list)
    #: Stored agent errors run again (their results are replaced).
    retry: list[tuple[str, int]] = field(default_factory=list)


def _plan(
    keys: list[tuple[Case, int]],
    stored: dict[tuple[str, int], CaseResult],
    key: str,
    *,
    retry_errors: bool,
) -> _Plan:
    plan = _Plan()
    for case, repeat in keys:
        hit = stored.get((case.digest, repeat))
        agent_error = hit is not None and hit.error_kind in _AGENT_ERRORS
        if hit is None or (retry_errors and agent_error):
            plan.todo.append((case, repeat))
            if hit is not None:
                plan.retry.append((case.digest, repeat))
        elif not agent_error and (hit.scorer_key != key or hit.error_kind == "scorer"):
            plan.rescore.append((case, repeat))
        else:
            plan.done[(case.digest, repeat)] = hit
    return plan


@dataclass(frozen=True)
class _Scoring:
    """How a replayed trace is judged: the configuration's digest, the scorers and their key."""

    config_digest: str
    scorers: Sequence[Scorer]
    key: str

    async def score(self, case: Case, repeat: int, trace: Trace, duration: float) -> CaseResult:
        return await _score(
            case, repeat, trace, self.config_digest, self.scorers, self.key, duration
        )


async def _rescore(
    plan: _Plan, store: ReplayStore, scoring: _Scoring, bar: _Bar | None
) -> list[CaseResult]:
    """Score stored traces again (the scorers changed); one without its trace runs again."""
    digests = (c.digest for c, _ in plan.rescore)
    traces = store.results(scoring.config_digest, digests, with_traces=True)
    rescored = []
    for case, repeat in plan.rescore:
        old = traces[(case.digest, repeat)]
        if old.trace is None:
            plan.todo.append((case, repeat))
            continue
        new = await scoring.score(case, repeat, old.trace, old.duration_s)
        plan.done[(case.digest, repeat)] = new
        rescored.append(new)
        if bar is not None:
            bar.advance()
    return rescored


async def _run_cases(
    todo: list[tuple[Case, int]],
    config: ConfigRef,
    agent: AgentAdapter,
    options: HarnessOptions,
    scoring: _Scoring,
    record: Callable[[CaseResult], None],
) -> None:
    """Call the agent on every (case, repeat) of ``todo`` and score each answer.

    Scoring runs in its own task so that a worker starts its next agent call the moment the
    previous one answers: the agent's slot never waits for scoring, persistence or other
    workers' bookkeeping queued in the same loop iteration. At most `concurrency` scorings are
    in flight (an LLM judge is slow): beyond that the workers wait.
    """
    work = iter(todo)
    scoring_slots = asyncio.Semaphore(options.concurrency)
    tasks: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []

    async def finish(case: Case, repeat: int, trace: Trace, duration: float) -> None:
        try:
            record(await scoring.score(case, repeat, trace, duration))
        finally:
            scoring_slots.release()

    def finished(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            failures.append(task.exception())  # type: ignore[arg-type]

    async def worker() -> None:
        for case, repeat in work:
            answer = await _call_agent(
                case,
                repeat,
                config,
                scoring.config_digest,
                agent,
                scoring.key,
                options.timeout_s,
            )
            if isinstance(answer, CaseResult):  # an infrastructure error: nothing to score
                record(answer)
                continue
            await scoring_slots.acquire()
            task = asyncio.create_task(finish(case, repeat, *answer))
            tasks.add(task)
            task.add_done_callback(finished)

    workers = min(options.concurrency, len(todo))
    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
        while tasks:
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    if failures:
        raise failures[0]


def _collect(
    outcome: ReplayOutcome, done: dict[tuple[str, int], CaseResult], keys: list[tuple[Case, int]]
) -> None:
    """The results in case order, then repeat order, and the errors counted by kind."""
    outcome.results = [done[(c.digest, r)] for c, r in keys if (c.digest, r) in done]
    for result in outcome.results:
        if result.error_kind is not None:
            kinds = outcome.errors_by_kind
            kinds[result.error_kind] = kinds.get(result.error_kind, 0) + 1


def replay_sync(
    case_set: CaseSet, config: ConfigRef, agent: AgentAdapter, **kwargs: Any
) -> ReplayOutcome:
    """`replay_case_set` from synchronous code (runs its own event loop; closes the agent)."""

    async def go() -> ReplayOutcome:
        try:
            return await replay_case_set(case_set, config, agent, **kwargs)
        finally:
            await agent.aclose()

    return asyncio.run(go())


#: Infrastructure errors: no verdict on the configuration, run again by ``retry_errors``.
_AGENT_ERRORS = ("agent", "timeout", "invalid_trace", "worker")


async def _call_agent(
    case: Case,
    repeat: int,
    config: ConfigRef,
    config_digest: str,
    agent: AgentAdapter,
    key: str,
    timeout_s: float,
) -> tuple[Trace, float] | CaseResult:
    """The agent's trace and its duration, or the infrastructure error as a result."""
    inputs = {**case.inputs, "repeat": repeat}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            trace = await agent.run(inputs, config)
    except TimeoutError:
        kind, error = "timeout", f"no answer within {timeout_s:g} s"
    except InvalidTrace as exc:
        kind, error = "invalid_trace", str(exc)
    except WorkerLost as exc:
        kind, error = "worker", str(exc)
    except Exception as exc:  # the agent's failure is data about this case, not about the run
        kind, error = "agent", f"{type(exc).__name__}: {exc}"[:2000]
    else:
        if isinstance(trace, Trace):
            return trace, time.perf_counter() - started
        kind = "invalid_trace"
        error = f"the adapter returned {type(trace).__name__}, not a Trace"
    return CaseResult(
        config_digest=config_digest,
        case_digest=case.digest,
        case_id=case.case_id,
        repeat=repeat,
        session_id=case.session_id,
        scorer_key=key,
        status=Status.error,
        error_kind=kind,
        error=error,
        duration_s=time.perf_counter() - started,
    )


async def _score(
    case: Case,
    repeat: int,
    trace: Trace,
    config_digest: str,
    scorers: Sequence[Scorer],
    key: str,
    duration_s: float,
) -> CaseResult:
    checks: list[Check] = []
    status, error_kind, error = Status.passed, None, None
    for scorer in scorers:
        try:
            checks.append(await scorer.score(case, trace))
        except Exception as exc:  # a scorer that cannot judge records an error, not a verdict
            status, error_kind = Status.error, "scorer"
            error = f"scorer {scorer.name}: {type(exc).__name__}: {exc}"[:2000]
            break
    if status is not Status.error:
        status = verdict(checks)
    return CaseResult(
        config_digest=config_digest,
        case_digest=case.digest,
        case_id=case.case_id,
        repeat=repeat,
        status=status,
        error_kind=error_kind,
        error=error,
        checks=tuple(checks),
        scorer_key=key,
        session_id=case.session_id,
        latency_ms=trace.latency_ms,
        cost_usd=trace.cost_usd,
        tool_calls=trace.tool_calls,
        duration_s=duration_s,
        trace=trace,
    )


class _Bar:
    """A rich progress bar on stderr (or the console given).

    Advances are counted and handed to rich at most every 0.1 s: rich takes a lock and samples
    the speed on every call, hundreds of times a second in a fast replay, for a bar it redraws
    ten times a second anyway.
    """

    _EVERY_S = 0.1

    def __init__(self, console: Console, label: str, total: int) -> None:
        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(label, total=total)
        self._unreported = 0
        self._reported_at = time.monotonic()
        self._progress.start()

    def advance(self) -> None:
        self._unreported += 1
        now = time.monotonic()
        if now - self._reported_at >= self._EVERY_S:
            self._flush(now)

    def _flush(self, now: float) -> None:
        self._progress.advance(self._task, self._unreported)
        self._unreported, self._reported_at = 0, now

    def stop(self) -> None:
        self._flush(time.monotonic())
        self._progress.stop()


def _progress(progress: bool | Console, label: str, total: int) -> _Bar | None:
    if progress is False or total == 0:
        return None
    console = progress if isinstance(progress, Console) else Console(stderr=True)
    return _Bar(console, label, total)
