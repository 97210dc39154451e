"""Where heavy work runs: ``[compute] executor``. The one module that imports Ray (lazily).

``local`` runs everything in this process and never imports Ray. A Ray executor connects to
the cluster the setting names (`connect`), once per process: replay's agent workers
(`replay._ray`) and the embedding stage (`map_batches`) share the connection.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, TypeVar

from flywheel.config import ComputeConfig
from flywheel.errors import UserError

Item = TypeVar("Item")
Result = TypeVar("Result")

#: A reachable head whose client server is still starting a driver (seen on a loaded
#: machine: "Initialization failure from server") is tried again, then reported in one line.
CONNECT_ATTEMPTS = 3
CONNECT_BACKOFF_S = 2.0


def is_ray(compute: ComputeConfig | None) -> bool:
    return compute is not None and compute.executor != "local"


def import_ray() -> ModuleType:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "[compute] executor names Ray, which is not installed: pip install 'flywheel[ray]' "
            '(or set [compute] executor = "local")'
        ) from None
    return ray


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


def connect(ray: ModuleType, executor: str) -> bool:
    """Connect to the cluster the executor names; True when this call made the connection
    (the caller then shuts it down), False when this process was already connected."""
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
def ray_session(executor: str) -> Iterator[ModuleType]:
    """Connected to the executor's cluster for the block (work inside reuses the connection);
    a connection this call made is shut down at the end (and the cluster ``ray:auto`` started
    with it)."""
    ray = import_ray()
    started = connect(ray, executor)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def map_batches(
    fn: Callable[[Sequence[Item]], list[Result]],
    items: Sequence[Item],
    *,
    compute: ComputeConfig,
    batch_size: int,
) -> list[Result]:
    """``fn`` over ``items`` in batches of ``batch_size``, as Ray tasks, results in order.

    ``fn`` should be a module-level function (or a `functools.partial` of one), so that it
    travels by reference and its module's globals live on in the worker process between
    tasks: load a model there once, in a cache of that module. A task lost with its worker
    is run again by Ray, up to ``[compute] max_retries`` times: a batch is a pure function of
    its items, so a rerun gives the same result.
    """
    if not items:
        return []
    with ray_session(compute.executor) as ray:
        task = ray.remote(_run_batch).options(num_cpus=1, max_retries=compute.max_retries)
        batches = [list(items[i : i + batch_size]) for i in range(0, len(items), batch_size)]
        refs = [task.remote(fn, batch) for batch in batches]
        results: list[Result] = []
        for part in ray.get(refs):
            results.extend(part)
    return results


def _run_batch(fn: Callable[[Sequence[Item]], list[Result]], batch: Sequence[Item]) -> list[Result]:
    return fn(batch)
