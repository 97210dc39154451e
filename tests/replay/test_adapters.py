"""The three adapters reach the demo agent and give the same traces; HTTP faults are errors."""

from __future__ import annotations

import asyncio
import pickle
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from examples.acme_assistant.serve import make_server
from flywheel.errors import UserError
from replay import (
    CaseSet,
    ConfigRef,
    HarnessOptions,
    HttpAdapter,
    LangGraphAdapter,
    PythonAdapter,
    Status,
    Suite,
    adapter_from_spec,
    replay_sync,
)
from tests.helpers.replay import DemoWorld


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    """The demo's own HTTP server on an ephemeral loopback port."""
    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/run"
    server.shutdown()
    server.server_close()


def _small(world: DemoWorld, n: int = 8) -> CaseSet:
    return CaseSet(name="small", suite=Suite.regression, cases=world.regression.cases[:n])


def _fingerprints(outcome: object) -> list[tuple[str, int, str, float | None]]:
    return [
        (r.case_id, r.repeat, r.status.value, r.latency_ms)
        for r in outcome.results  # type: ignore[attr-defined]
    ]


def test_python_http_and_langgraph_adapters_agree(demo_world: DemoWorld, demo_url: str) -> None:
    cases = _small(demo_world)
    config = ConfigRef(directory=demo_world.baseline)
    options = HarnessOptions(concurrency=4, repeats=2)
    python = replay_sync(
        cases,
        config,
        PythonAdapter("examples.acme_assistant:run"),
        options=options,
        keep_traces=True,
    )
    http = replay_sync(cases, config, HttpAdapter(demo_url), options=options, keep_traces=True)
    graph = replay_sync(
        cases,
        config,
        LangGraphAdapter(
            "examples.acme_assistant:build_graph", prepare="examples.acme_assistant:prepare"
        ),
        options=options,
        keep_traces=True,
    )
    assert python.errors == 0
    assert _fingerprints(python) == _fingerprints(http) == _fingerprints(graph)
    assert [r.trace for r in python.results] == [r.trace for r in http.results]
    # repeats differ (the demo seeds its noise with the repeat) but replays reproduce
    assert python.results[0].trace != python.results[1].trace


class _Faulty(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"<html>oops</html>" if self.path == "/garbage" else b'{"error": "boom"}'
        self.send_response(200 if self.path == "/garbage" else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [
        ("/error", "agent", "HTTP 500"),
        ("/garbage", "invalid_trace", "not a valid trace"),
    ],
)
def test_http_500_and_garbage_are_infrastructure_errors(
    demo_world: DemoWorld, path: str, kind: str, message: str
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Faulty)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}{path}"
        outcome = replay_sync(
            _small(demo_world, 4), ConfigRef(directory=demo_world.baseline), HttpAdapter(url)
        )
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.errors_by_kind == {kind: 4}
    assert all(r.status is Status.error for r in outcome.results)
    assert message in (outcome.results[0].error or "")


def test_a_closed_port_is_an_infrastructure_error(demo_world: DemoWorld, tmp_path: Path) -> None:
    server = make_server(0)
    port = server.server_address[1]
    server.server_close()  # nothing listens there any more
    outcome = replay_sync(
        _small(demo_world, 2),
        ConfigRef(directory=demo_world.baseline),
        HttpAdapter(f"http://127.0.0.1:{port}/run"),
    )
    assert outcome.errors_by_kind == {"agent": 2}
    assert "ConnectError" in (outcome.results[0].error or "")


def test_adapter_specs_resolve_or_say_what_is_valid() -> None:
    assert isinstance(adapter_from_spec("examples.acme_assistant:run"), PythonAdapter)
    assert isinstance(adapter_from_spec("python:examples.acme_assistant:run"), PythonAdapter)
    assert isinstance(adapter_from_spec("http://127.0.0.1:1/run"), HttpAdapter)
    assert isinstance(
        adapter_from_spec("langgraph:examples.acme_assistant:build_graph"), LangGraphAdapter
    )
    with pytest.raises(UserError, match="python, http, langgraph"):
        adapter_from_spec("acme")
    with pytest.raises(UserError, match="cannot import 'no_such_module'"):
        adapter_from_spec("no_such_module:run")
    with pytest.raises(UserError, match="has no attribute 'nope'"):
        adapter_from_spec("examples.acme_assistant:nope")


def test_a_used_adapter_pickles_without_its_threads_or_connections(tmp_path: Path) -> None:
    """What the Ray executor relies on to ship an adapter to its workers."""
    config = ConfigRef(directory=tmp_path)
    inputs = {"input": "c1", "repeat": 0}
    python = PythonAdapter("tests.replay.agents:raising_agent")  # a plain function: a thread pool
    http = HttpAdapter(f"http://127.0.0.1:{_closed_port()}/run")
    for adapter in (python, http):
        with pytest.raises(Exception, match=r"crashed|ConnectError"):
            asyncio.run(adapter.run(inputs, config))
    assert python._pool is not None
    assert http._client is not None
    python_copy = pickle.loads(pickle.dumps(python))
    http_copy = pickle.loads(pickle.dumps(http))
    assert (python_copy._pool, python_copy.target) == (None, python.target)
    assert (http_copy._client, http_copy.url) == (None, http.url)
    with pytest.raises(RuntimeError, match="agent crashed on c1"):
        asyncio.run(python_copy.run(inputs, config))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
