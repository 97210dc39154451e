"""The HTTP adapter on a real loopback server."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from examples.acme_assistant import DEFAULT_CONFIG_DIR, run
from examples.acme_assistant.serve import make_server
from flywheel.trace import Trace


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url + "/run", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_run_returns_the_same_trace_as_the_entry_point(base_url: str) -> None:
    inputs = {"input": "Who owns the Globex account?"}
    body = {"inputs": inputs, "config": {"dir": str(DEFAULT_CONFIG_DIR)}, "seed": 3}
    status, payload = _post(base_url, json.dumps(body).encode())
    assert status == 200
    trace = Trace.model_validate_json(payload)
    assert trace.to_json() == run({**inputs, "seed": 3}, DEFAULT_CONFIG_DIR).to_json()


def test_inline_config_files_are_used(base_url: str) -> None:
    files = {
        str(p.relative_to(DEFAULT_CONFIG_DIR)): p.read_text()
        for p in DEFAULT_CONFIG_DIR.rglob("*")
        if p.is_file()
    }
    files["routing.yaml"] = "rules:\n  - name: all\n    pattern: '.'\n    route: search\n"
    body = {"inputs": {"input": "Hi!"}, "config": {"files": files}}
    status, payload = _post(base_url, json.dumps(body).encode())
    assert status == 200
    assert Trace.model_validate_json(payload).route == "search"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"inputs": "hi"}', '"inputs" object'),
        (b'{"inputs": {"input": "hi"}, "extra": 1}', "unknown field 'extra'"),
        (b'{"inputs": {}}', '"input"'),
        (
            b'{"inputs": {"input": "hi"}, "config": {"files": {"routing.yaml": "rules: [",'
            b' "prompts/system.md": "Be kind."}}}',
            "routing.yaml line",
        ),
        (
            b'{"inputs": {"input": "hi"}, "config": {"files": {"routing.yaml": "rules: []"}}}',
            "no prompts",
        ),
        (b'{"inputs": {"input": "hi"}, "config": {"dir": "/nonexistent/dir"}}', "does not exist"),
    ],
)
def test_bad_requests_get_400_with_a_reason(base_url: str, body: bytes, message: str) -> None:
    status, payload = _post(base_url, body)
    assert status == 400
    assert message in json.loads(payload)["error"]
