"""A real Ray cluster on loopback for the `ray` tests: a head and a worker node, 1 CPU each.

Started by `ray start`, stopped by `ray stop` (no mock of Ray); the workers import this
repository's code through PYTHONPATH.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).parent / "ray"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RayCluster:
    gcs: str  # host:port of the head's GCS (a driver on a machine of the cluster)
    client: str  # host:port of Ray Client (a driver outside the cluster)


@contextlib.contextmanager
def ray_cluster_on_loopback() -> Iterator[RayCluster]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled"}
    # Ray Client starts a server process per driver and waits 30 s for it: too short on a
    # loaded 2-core CI machine.
    env["RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S"] = "180"
    gcs, client = free_port(), free_port()
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    common += ["--object-store-memory", str(100 * 2**20)]
    head = [str(RAY), "start", "--head", "--port", str(gcs), "--include-dashboard=false"]
    head += ["--ray-client-server-port", str(client), *common]
    worker = [str(RAY), "start", "--address", f"127.0.0.1:{gcs}", *common]
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        subprocess.run(head, env=env, check=True, capture_output=True, timeout=120)
        subprocess.run(worker, env=env, check=True, capture_output=True, timeout=120)
        yield RayCluster(gcs=f"127.0.0.1:{gcs}", client=f"127.0.0.1:{client}")
    finally:
        subprocess.run([str(RAY), "stop"], check=False, env=env, capture_output=True, timeout=120)
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved
