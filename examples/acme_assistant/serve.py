"""The agent over HTTP, on loopback: ``python -m examples.acme_assistant.serve --port P``.

``POST /run`` with a JSON body::

    {"inputs": {"input": "...", ...},                       # as for `run`
     "config": {"dir": "/path/to/config"}                    # or
               {"files": {"prompts/system.md": "...", "routing.yaml": "...", ...}},
     "seed": 0, "repeat": 0}                                 # optional, override inputs

answers 200 with the trace (native JSON), or 400 ``{"error": "..."}`` for bad input.
``GET /health`` answers ``{"status": "ok"}``.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from examples.acme_assistant.config import AgentConfig, config_from_files
from examples.acme_assistant.runtime import DEFAULT_CONFIG_DIR, resolve_config, run
from flywheel.errors import UserError

MAX_BODY = 2_000_000


def _config(spec: Any) -> AgentConfig:
    if spec is None:
        return resolve_config(DEFAULT_CONFIG_DIR)
    if not isinstance(spec, dict) or len(spec) != 1 or not ({"dir", "files"} & set(spec)):
        raise UserError('"config" must be {"dir": "<path>"} or {"files": {"<path>": "<text>"}}')
    if "dir" in spec:
        if not isinstance(spec["dir"], str):
            raise UserError('"config.dir" must be a path string')
        return resolve_config(Path(spec["dir"]))
    files = spec["files"]
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise UserError('"config.files" must map relative paths to file contents (strings)')
    return config_from_files(files, origin="request config")


def handle_run(body: bytes) -> bytes:
    """Run one request body; raises UserError for anything a client got wrong."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), dict):
        raise UserError('the body must be a JSON object with an "inputs" object')
    unknown = sorted(set(payload) - {"inputs", "config", "seed", "repeat"})
    if unknown:
        raise UserError(f"unknown field {unknown[0]!r}; valid: inputs, config, seed, repeat")
    inputs = dict(payload["inputs"])
    for key in ("seed", "repeat"):
        if key in payload:
            inputs[key] = payload[key]
    return run(inputs, _config(payload.get("config"))).to_json()


class Handler(BaseHTTPRequestHandler):
    server_version = "acme-assistant/1.0"

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, b'{"status":"ok"}')
        else:
            self._send(404, b'{"error":"not found; POST /run or GET /health"}')

    def do_POST(self) -> None:
        if self.path != "/run":
            self._send(404, b'{"error":"not found; POST /run"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._error(f"a JSON body of 1 to {MAX_BODY} bytes is required")
            return
        try:
            self._send(200, handle_run(self.rfile.read(length)))
        except UserError as exc:
            self._error(str(exc))

    def _error(self, message: str) -> None:
        self._send(400, json.dumps({"error": message}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default
        pass


def make_server(port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server bound to loopback (port 0 picks a free port: see ``server_address``)."""
    return ThreadingHTTPServer((host, port), Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Acme demo assistant on loopback.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    server = make_server(args.port, args.host)
    print(f"acme assistant on http://{args.host}:{server.server_address[1]}/run", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
