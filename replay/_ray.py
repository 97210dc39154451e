"""Replay's agent calls on a Ray cluster: the one module that imports Ray (lazily, on demand).

`RayAdapter` is an `AgentAdapter` around the real one. It starts ``workers`` Ray actors, each
holding one copy of the agent and running its share of the harness's concurrency on its own
event loop (an async actor), and sends every call to the least busy one. Actors rather than a
task per case: the agent is loaded once per worker (a task would unpickle it, and start a
process, per case), and many cases of one worker wait on I/O together as they do locally.

The configuration directory travels with the calls (packed once per content, as a Ray object)
and is unpacked once per worker, so workers need no shared filesystem. Results come back to
the driver, which scores and stores them: the store cannot tell where a case ran.

Faults: a worker that dies under a case (killed, evicted, its node lost) is restarted by Ray
and the case is sent again, up to ``[compute] max_retries`` times, then recorded as a
``worker`` error; the call that died never returned, so nothing is counted twice. The
harness's timeout cancels the call on the worker too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import math
import os
import pickle
import socket
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from flywheel.config import ComputeConfig
from flywheel.errors import UserError
from flywheel.trace import Trace
from replay._adapters import AgentAdapter, AgentError, WorkerLost
from replay._models import ConfigRef

#: Seconds to wait for the workers to start and load the agent.
_READY_TIMEOUT_S = 120.0


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise UserError(
            "[compute] executor names Ray, which is not installed: pip install 'flywheel[ray]' "
            '(or set [compute] executor = "local")'
        ) from None
    return ray


class _AgentWorker:
    """A Ray actor: one copy of the agent, called concurrently on the actor's event loop."""

    def __init__(self, agent: AgentAdapter) -> None:
        self.agent = agent
        self.directories: dict[str, Path] = {}
        self.scratch = Path(tempfile.mkdtemp(prefix="flywheel-replay-config-"))

    def ready(self) -> int:
        return os.getpid()

    async def run(
        self, inputs: dict[str, Any], key: str, packed: bytes, commit: str | None
    ) -> tuple[str, Any]:
        config = ConfigRef(directory=self._directory(key, packed), commit=commit)
        try:
            return "trace", await self.agent.run(inputs, config)
        except Exception as exc:  # sent back as it was raised, for the harness to classify
            try:
                pickle.dumps(exc)
            except Exception:
                exc = AgentError(f"{type(exc).__name__}: {exc}"[:2000])
            return "raised", exc

    def _directory(self, key: str, packed: bytes) -> Path:
        # No await between the check and the insert: one extraction per content per worker.
        if key not in self.directories:
            target = self.scratch / key
            with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
                archive.extractall(target, filter="data")
            self.directories[key] = target
        return self.directories[key]


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


def _reachable(address: str, executor: str) -> None:
    """Fail in one line, and fast, when nothing listens at the head's address."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except OSError as exc:
        raise UserError(
            f"cannot reach the Ray head at {address} ([compute] executor = '{executor}'): "
            f"{exc.strerror or exc}; start it (ray start --head) or set the executor to 'local'"
        ) from None


#: A reachable head whose client server is still starting a driver (seen on a loaded
#: machine: "Initialization failure from server") is tried again, then reported in one line.
CONNECT_ATTEMPTS = 3
CONNECT_BACKOFF_S = 2.0


def _connect(ray: ModuleType, executor: str) -> bool:
    """Connect to the cluster the executor names; True when this call made the connection."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if executor == "ray:auto":
        address = None
        options["include_dashboard"] = False
    else:
        address = executor if executor.startswith("ray://") else executor.removeprefix("ray:")
        _reachable(address.removeprefix("ray://"), executor)
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            ray.init(address=address, **options)
            return True
        except Exception as exc:
            # A failed init can leave a half-made connection that breaks every later one.
            ray.shutdown()
            if attempt == CONNECT_ATTEMPTS:
                text = str(exc).strip()
                first = text.splitlines()[0] if text else type(exc).__name__
                raise UserError(f"cannot connect to Ray ({executor}): {first}") from None
            time.sleep(CONNECT_BACKOFF_S * attempt)
    return True


@contextlib.contextmanager
def ray_session(executor: str) -> Iterator[None]:
    """Connected to the executor's cluster for the block (a `RayAdapter` inside reuses it);
    a cluster that ``ray:auto`` started is stopped at the end."""
    ray = _import_ray()
    started = _connect(ray, executor)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


class RayAdapter:
    """Runs another adapter on Ray actors; see the module docstring."""

    def __init__(self, agent: AgentAdapter, compute: ComputeConfig, *, concurrency: int) -> None:
        ray = _import_ray()
        self._ray = ray
        self.name = f"ray/{agent.name}"
        self._max_retries = compute.max_retries
        self._lost = (
            ray.exceptions.RayActorError,
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.NodeDiedError,
            ray.exceptions.ObjectLostError,
        )
        self._started = _connect(ray, compute.executor)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = min(compute.workers or max(cpus, 1), concurrency)
        actor = ray.remote(_AgentWorker).options(
            num_cpus=1,
            max_concurrency=math.ceil(concurrency / workers),
            max_restarts=-1,
            max_task_retries=0,  # re-sent here, so that a retried case is counted once
            scheduling_strategy="SPREAD",
        )
        self._actors = [actor.remote(agent) for _ in range(workers)]
        self._load = [0] * workers
        self._packed: dict[str, tuple[tuple[tuple[str, int, int], ...], str, Any]] = {}
        self._by_ref: dict[int, tuple[ConfigRef, str, Any]] = {}
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

    def _pick(self, avoid: int | None) -> int:
        order = sorted(range(len(self._actors)), key=lambda i: (i == avoid, self._load[i]))
        return order[0]

    async def run(self, inputs: dict[str, Any], config: ConfigRef) -> Trace:
        key, packed = self._config(config)
        avoid: int | None = None
        lost: BaseException | None = None
        for _ in range(self._max_retries + 1):
            index = self._pick(avoid)
            self._load[index] += 1
            ref = self._actors[index].run.remote(inputs, key, packed, config.commit)
            try:
                kind, value = await ref
            except asyncio.CancelledError:  # the harness's timeout: stop it on the worker too
                with contextlib.suppress(Exception):  # already finished or gone
                    self._ray.cancel(ref)
                raise
            except self._lost as exc:
                avoid, lost = index, exc
                continue
            finally:
                self._load[index] -= 1
            if kind == "trace":
                trace: Trace = value
                return trace
            raise value
        reason = str(lost).strip().splitlines()[0] if lost is not None else "unknown"
        raise WorkerLost(
            f"the Ray worker running this case died {self._max_retries + 1} times: {reason}"
        )

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
