"""Replay's agent calls on a Ray cluster (Ray itself comes from `flywheel.compute`).

`RayAdapter` is an `AgentAdapter` around the real one. It starts ``workers`` Ray actors, each
holding one copy of the agent and running its cases concurrently on its own event loop (an
async actor), and sends every call to the least busy one. Actors rather than a task per case:
the agent is loaded once per worker (a task would unpickle it, and start a process, per case),
and many cases of one worker wait on I/O together as they do locally.

Calls travel in batches, not one Ray call per case. A Ray actor call costs the driver about
0.6–1 ms of CPU (submission, the round trip, the reply), several times the harness's own work
per case, and the driver does it for every case in turn. So the cases the harness starts in
one turn of its event loop go to a worker as one ``submit`` call, and each worker answers
through one outstanding ``collect`` call that returns every case finished since the last one
(a long poll): a case's answer comes back when that case finishes, not when its batch does.
Ray Client (``ray://``) has no streaming generators, hence the long poll.

The configuration directory travels with the calls (packed once per content, as a Ray object)
and is unpacked once per worker, so workers need no shared filesystem. Results come back to
the driver, which scores and stores them: the store cannot tell where a case ran.

Faults: a worker that dies (killed, evicted, its node lost) fails its outstanding ``collect``;
every case it held is sent again, to another worker if there is one, up to
``[compute] max_retries`` times, then recorded as a ``worker`` error. Ray restarts the actor.
A case's first answer is the one kept, so nothing is counted twice. The harness's timeout
cancels the case on the worker too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import itertools
import math
import os
import pickle
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from flywheel.compute import connect, import_ray
from flywheel.config import ComputeConfig
from flywheel.errors import UserError
from flywheel.trace import Trace
from replay._adapters import AgentAdapter, AgentError, WorkerLost
from replay._models import ConfigRef

#: Seconds to wait for the workers to start and load the agent.
_READY_TIMEOUT_S = 120.0

#: Seconds before a case is sent again to the only worker, which died under it (times the
#: case's losses so far): a call to an actor that Ray is still restarting fails at once.
_RESEND_WAIT_S = 1.0

#: One case as sent to a worker: (id, inputs, config key, commit).
_Sent = tuple[int, dict[str, Any], str, str | None]
#: One answer: (id, "trace" | "raised", the trace or the exception).
_Answer = tuple[int, str, Any]


class _AgentWorker:
    """A Ray actor: one copy of the agent, its cases run as tasks on the actor's event loop."""

    def __init__(self, agent: AgentAdapter) -> None:
        self.agent = agent
        self.directories: dict[str, Path] = {}
        self.scratch = Path(tempfile.mkdtemp(prefix="flywheel-replay-config-"))
        self.running: dict[int, asyncio.Task[None]] = {}
        self.cancelled: set[int] = set()
        self.done: list[_Answer] = []
        self.wake = asyncio.Event()
        self.collector = -1

    def ready(self) -> int:
        return os.getpid()

    async def submit(self, cases: list[_Sent], packed: dict[str, Any]) -> None:
        """Start the cases; ``packed`` maps each config key to its tar (a Ray object, fetched
        only by a worker that has not unpacked that key yet)."""
        for case_id, inputs, key, commit in cases:
            if key not in self.directories:
                self._unpack(key, await packed[key])
            if case_id in self.cancelled:  # the cancel overtook the case (or the unpacking)
                self.cancelled.discard(case_id)
                continue
            config = ConfigRef(directory=self.directories[key], commit=commit)
            self.running[case_id] = asyncio.create_task(self._run(case_id, inputs, config))

    async def _run(self, case_id: int, inputs: dict[str, Any], config: ConfigRef) -> None:
        try:
            answer: _Answer = (case_id, "trace", await self.agent.run(inputs, config))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # sent back as it was raised, for the harness to classify
            try:
                pickle.dumps(exc)
            except Exception:
                exc = AgentError(f"{type(exc).__name__}: {exc}"[:2000])
            answer = (case_id, "raised", exc)
        finally:
            self.running.pop(case_id, None)
        self.done.append(answer)
        self.wake.set()

    async def collect(self, collector: int) -> list[_Answer]:
        """The answers finished since the last collect; waits for one if there is none.

        Only the newest collector gets answers: a driver whose event loop ended may leave a
        collect waiting here, and it returns empty rather than take a later loop's answers.
        A cancel also returns it empty, so that the driver can see it has nothing left here.
        """
        if collector < self.collector:
            return []
        self.collector = collector
        self.wake.set()  # an older collect still waiting steps aside
        self.wake.clear()
        if not self.done:
            await self.wake.wait()
        if collector != self.collector:
            return []
        await asyncio.sleep(0)  # the cases finishing in the same turn come along
        answers, self.done = self.done, []
        return answers

    def cancel(self, case_ids: list[int]) -> None:
        for case_id in case_ids:
            task = self.running.pop(case_id, None)
            if task is None:
                self.cancelled.add(case_id)
            else:
                task.cancel()
        self.wake.set()

    def _unpack(self, key: str, packed: bytes) -> None:
        target = self.scratch / key
        with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
            archive.extractall(target, filter="data")
        self.directories[key] = target


def _pack(directory: Path) -> bytes:
    """The configuration's files as a tar (hidden entries left out, as in its digest)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            archive.add(path, arcname=str(relative), recursive=False)
    return buffer.getvalue()


def _signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """A cheap fingerprint (names, sizes, mtimes) telling when to pack the directory again."""
    entries = []
    for path in directory.rglob("*"):
        if path.is_file():
            stat = path.stat()
            entries.append((str(path.relative_to(directory)), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


@dataclass(eq=False)
class _Case:
    """A case in flight on the driver: where it was sent, and how often its worker died."""

    case_id: int
    inputs: dict[str, Any]
    key: str
    packed: Any  # the Ray object of the config's tar
    commit: str | None
    answer: asyncio.Future[tuple[str, Any]]
    worker: int = -1
    life: int = 0  # the worker's life (restarts seen) when the case was sent
    lost: int = 0
    reasons: list[str] = field(default_factory=list)


class RayAdapter:
    """Runs another adapter on Ray actors; see the module docstring."""

    def __init__(self, agent: AgentAdapter, compute: ComputeConfig, *, concurrency: int) -> None:
        ray = import_ray()
        self._ray = ray
        self.name = f"ray/{agent.name}"
        self._max_retries = compute.max_retries
        self._lost = (
            ray.exceptions.RayActorError,
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.NodeDiedError,
            ray.exceptions.ObjectLostError,
        )
        self._started = connect(ray, compute.executor)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = min(compute.workers or max(cpus, 1), concurrency)
        actor = ray.remote(_AgentWorker).options(
            num_cpus=1,
            # The driver keeps the harness's concurrency; these are the control calls
            # (submit, collect, cancel) that may be waiting on one worker at once.
            max_concurrency=max(16, 2 * math.ceil(concurrency / workers)),
            max_restarts=-1,
            max_task_retries=0,  # re-sent here, so that a retried case is counted once
            scheduling_strategy="SPREAD",
        )
        self._actors = [actor.remote(agent) for _ in range(workers)]
        self._packed: dict[str, tuple[tuple[tuple[str, int, int], ...], str, Any]] = {}
        self._by_ref: dict[int, tuple[ConfigRef, str, Any]] = {}
        self._ids = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset_flight()
        try:
            self.pids: list[int] = ray.get(
                [handle.ready.remote() for handle in self._actors], timeout=_READY_TIMEOUT_S
            )
        except ray.exceptions.GetTimeoutError:
            self._close()
            raise UserError(
                f"{workers} Ray workers did not start within {_READY_TIMEOUT_S:g} s: the "
                f"cluster has {cpus} CPUs (each worker takes one); lower [compute] workers"
            ) from None
        except Exception as exc:
            self._close()
            lines = [line for line in str(exc).splitlines() if line.strip()]
            raise UserError(
                f"the Ray workers cannot load the agent: {lines[-1] if lines else exc}; the "
                "agent's code must be importable on every worker"
            ) from None

    def _reset_flight(self) -> None:
        """Forget the cases of a previous event loop (their futures died with it)."""
        n = len(self._actors)
        self._cases: dict[int, _Case] = {}
        self._held: list[set[int]] = [set() for _ in range(n)]  # case ids per worker
        self._lives = [0] * n
        self._queued: list[list[_Case]] = [[] for _ in range(n)]
        self._collecting: list[asyncio.Task[None] | None] = [None] * n
        self._flush_due = False
        self._background: set[asyncio.Future[Any]] = set()

    @property
    def workers(self) -> int:
        return len(self._actors)

    def _config(self, config: ConfigRef) -> tuple[str, Any]:
        # Packed once per ConfigRef object (a replay passes one for all its cases, and reads
        # its digest once too), else once per content: a walk of the directory per call cost
        # a tenth of the throughput.
        held = self._by_ref.get(id(config))
        if held is not None and held[0] is config:
            return held[1], held[2]
        directory = str(config.directory)
        signature = _signature(config.directory)
        known = self._packed.get(directory)
        if known is None or known[0] != signature:
            packed = _pack(config.directory)
            key = hashlib.sha256(packed).hexdigest()[:24]
            known = (signature, key, self._ray.put(packed))
            self._packed[directory] = known
        self._by_ref = {id(config): (config, known[1], known[2])}
        return known[1], known[2]

    async def run(self, inputs: dict[str, Any], config: ConfigRef) -> Trace:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._abandon()
            self._loop = loop
        key, packed = self._config(config)
        case = _Case(next(self._ids), inputs, key, packed, config.commit, loop.create_future())
        self._cases[case.case_id] = case
        self._send(case, avoid=None)
        try:
            kind, value = await case.answer
        except asyncio.CancelledError:  # the harness's timeout: stop it on the worker too
            self._forget(case)
            if case.worker >= 0:
                self._call(self._actors[case.worker].cancel.remote([case.case_id]))
            raise
        if kind == "trace":
            trace: Trace = value
            return trace
        raise value

    def _send(self, case: _Case, *, avoid: int | None) -> None:
        index = min(range(len(self._actors)), key=lambda i: (i == avoid, len(self._held[i])))
        case.worker, case.life = index, self._lives[index]
        self._held[index].add(case.case_id)
        self._queued[index].append(case)
        if not self._flush_due:  # every case the harness starts in this turn, in one call
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        for index, queued in enumerate(self._queued):
            if not queued:
                continue
            self._queued[index] = []
            sent = [(c.case_id, c.inputs, c.key, c.commit) for c in queued if not c.answer.done()]
            if not sent:  # all cancelled before they left
                continue
            packed = {c.key: c.packed for c in queued}
            life = self._lives[index]
            submitted = self._actors[index].submit.remote(sent, packed)
            self._call(submitted, failed=partial(self._not_started, index, life, queued))
            if self._collecting[index] is None:
                self._collecting[index] = asyncio.ensure_future(self._collect(index))

    async def _collect(self, index: int) -> None:
        """The worker's answers, while it holds cases (one collect outstanding at a time)."""
        collector = next(self._ids)
        try:
            while self._held[index]:
                life = self._lives[index]
                try:
                    answers = await self._actors[index].collect.remote(collector)
                except Exception as exc:  # the worker died (or broke): its cases go elsewhere
                    self._worker_lost(index, life, exc)
                    continue
                for case_id, kind, value in answers:
                    case = self._cases.get(case_id)
                    if case is None or case.answer.done():
                        continue  # cancelled, or answered by another worker after a loss
                    self._forget(case)
                    case.answer.set_result((kind, value))
                if answers:  # the harness sends its next cases first, then this collects
                    await asyncio.sleep(0)  # (their callers wake)
                    await asyncio.sleep(0)  # (their batch is flushed)
        finally:
            self._collecting[index] = None

    def _worker_lost(self, index: int, life: int, exc: BaseException | None = None) -> None:
        """The worker died: send its cases again (once per death, whoever notices it)."""
        if self._lives[index] != life:
            return
        self._lives[index] += 1
        reason = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
        for case_id in list(self._held[index]):
            case = self._cases.get(case_id)
            self._held[index].discard(case_id)
            if case is None or case.answer.done():
                continue
            case.lost += 1
            case.reasons.append(reason or "worker died")
            if case.lost > self._max_retries:
                self._forget(case)
                case.answer.set_exception(
                    WorkerLost(
                        f"the Ray worker running this case died {case.lost} times: "
                        f"{case.reasons[-1]}"
                    )
                )
            elif len(self._actors) > 1:
                self._send(case, avoid=index)
            else:  # the only worker: give Ray time to restart it (a call now would fail)
                asyncio.get_running_loop().call_later(
                    _RESEND_WAIT_S * case.lost, self._resend, case, index
                )

    def _resend(self, case: _Case, avoid: int) -> None:
        if not case.answer.done() and case.case_id in self._cases:
            self._send(case, avoid=avoid)

    def _not_started(self, index: int, life: int, cases: list[_Case], exc: Exception) -> None:
        if isinstance(exc, self._lost):
            self._worker_lost(index, life, exc)
            return
        lines = [line for line in str(exc).splitlines() if line.strip()]
        error = AgentError(
            f"the Ray worker could not start the case: {lines[-1] if lines else exc}"
        )
        for case in cases:
            if not case.answer.done() and case.life == life and case.worker == index:
                self._forget(case)
                case.answer.set_exception(error)

    def _forget(self, case: _Case) -> None:
        self._cases.pop(case.case_id, None)
        if case.worker >= 0:
            self._held[case.worker].discard(case.case_id)

    def _call(self, ref: Any, *, failed: Callable[[Exception], None] | None = None) -> None:
        """Await a control call in the background, so that its failure is ``failed``'s
        business, never an unhandled error (a cancel sent to a dead worker has none)."""

        async def wait() -> None:
            try:
                await ref
            except Exception as exc:
                if failed is not None:
                    failed(exc)

        task = asyncio.ensure_future(wait())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _abandon(self) -> None:
        """A new event loop: cancel the previous loop's unanswered cases on the workers."""
        for index, held in enumerate(self._held):
            if held:
                with contextlib.suppress(Exception):  # a dead worker holds nothing
                    self._actors[index].cancel.remote(sorted(held))
        self._reset_flight()

    def _close(self) -> None:
        for handle in self._actors:
            with contextlib.suppress(Exception):  # already dead: nothing to release
                self._ray.kill(handle)
        self._actors = []
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
            self._started = False

    async def aclose(self) -> None:
        self._close()
