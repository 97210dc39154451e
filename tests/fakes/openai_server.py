"""A loopback OpenAI-compatible server that tests script and inspect.

It speaks the real wire protocol (``POST /v1/chat/completions``, ``POST /v1/embeddings``) on
``127.0.0.1`` with an ephemeral port, so code under test goes through litellm's real client
exactly as it would against a provider. Tests queue what the next chat requests get::

    with FakeOpenAIServer() as server:
        server.reply("hello")                     # a normal answer
        server.reply_json({"label": "prompt"})   # a JSON answer
        server.malformed("{oops")                 # content that is not valid JSON
        server.status(429, retry_after=1)         # an error status, optionally Retry-After
        server.hang(5)                            # no answer for 5 s (past the client timeout)
        server.reply_when("order 7", "seven")     # standing rules, by request content
        server.status_when("order 8", 500)
        ... litellm.completion(model="openai/fake", api_base=server.base_url, api_key="sk-x")
        server.requests[-1].body["messages"]      # what the server received

Rules answer by content, so concurrent requests get the same answers whatever their order;
they are checked before the queue, the latest matching rule first. When the queue is empty
every chat request gets ``default_reply``. Embeddings are deterministic: each input's vector
is seeded by the sha256 of its text.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

EMBEDDING_DIM = 16


@dataclass(frozen=True)
class Action:
    """What the server does with one chat request."""

    kind: str  # "reply" | "status" | "hang"
    content: str = ""
    status: int = 200
    retry_after: float | None = None
    seconds: float = 0.0
    echo_key: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    path: str
    #: Case-insensitive, as HTTP header names are (clients differ in how they spell them).
    headers: httpx.Headers
    body: dict[str, Any]
    received_at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body.get("messages", [])
        return messages


@dataclass
class _State:
    queue: deque[Action] = field(default_factory=deque)
    rules: dict[str, Action] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class FakeOpenAIServer:
    """A scriptable OpenAI-compatible HTTP server on 127.0.0.1, run in a background thread."""

    def __init__(self, *, default_reply: str = "ok", reply_delay_s: float = 0.0) -> None:
        #: Content of the reply when no action is queued.
        self.default_reply = default_reply
        #: Seconds every reply waits before it is sent (to make requests overlap in tests).
        self.reply_delay_s = reply_delay_s
        self._state = _State()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The ``api_base`` to give litellm (model ``openai/<anything>``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------

    def reply(self, text: str) -> None:
        self._push(Action("reply", content=text))

    def reply_json(self, obj: Any) -> None:
        self._push(Action("reply", content=json.dumps(obj)))

    def malformed(self, text: str = '{"answer": "unterminated') -> None:
        self._push(Action("reply", content=text))

    def status(
        self, code: int, *, retry_after: float | None = None, echo_key: bool = False
    ) -> None:
        """Answer with HTTP ``code``; ``echo_key`` puts the received API key in the error message,
        as some providers do ("Incorrect API key provided: sk-...")."""
        self._push(Action("status", status=code, retry_after=retry_after, echo_key=echo_key))

    def hang(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (then the default reply, which nobody reads)."""
        self._push(Action("hang", seconds=seconds))

    def reply_when(self, needle: str, text: str) -> None:
        """Answer every chat request whose messages contain ``needle`` with ``text``."""
        self._rule(needle, Action("reply", content=text))

    def status_when(self, needle: str, code: int) -> None:
        """Answer every chat request whose messages contain ``needle`` with HTTP ``code``."""
        self._rule(needle, Action("status", status=code))

    def drop_rules(self) -> None:
        with self._state.lock:
            self._state.rules.clear()

    def _rule(self, needle: str, action: Action) -> None:
        with self._state.lock:
            self._state.rules.pop(needle, None)  # re-added: now the latest
            self._state.rules[needle] = action

    def _match(self, messages: list[dict[str, Any]]) -> Action | None:
        text = "\n".join(str(message.get("content", "")) for message in messages)
        with self._state.lock:
            for needle, action in reversed(self._state.rules.items()):
                if needle in text:
                    return action
        return None

    def _push(self, action: Action) -> None:
        with self._state.lock:
            self._state.queue.append(action)

    def _pop(self) -> Action:
        with self._state.lock:
            if self._state.queue:
                return self._state.queue.popleft()
        return Action("reply", content=self.default_reply)

    # -- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def max_in_flight(self) -> int:
        """The largest number of requests the server was handling at the same moment."""
        return self._state.max_in_flight

    @property
    def pending_actions(self) -> int:
        with self._state.lock:
            return len(self._state.queue)

    # -- handling (called from the handler threads) ----------------------------------------

    def _record(self, path: str, headers: httpx.Headers, body: dict[str, Any]) -> None:
        with self._state.lock:
            self._state.requests.append(RecordedRequest(path, headers, body, time.monotonic()))
            self._state.in_flight += 1
            self._state.max_in_flight = max(self._state.max_in_flight, self._state.in_flight)

    def _done(self) -> None:
        with self._state.lock:
            self._state.in_flight -= 1

    def _wait(self, seconds: float) -> None:
        self._state.stopping.wait(seconds)


def chat_completion(model: str, content: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """An OpenAI chat completion body; token counts are whitespace word counts."""
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages) or 1
    completion_tokens = len(content.split()) or 1
    return {
        "id": f"chatcmpl-{hashlib.sha256(content.encode()).hexdigest()[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def embedding_vector(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """A deterministic unit vector seeded by the text's sha256."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    raw = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = sum(x * x for x in raw) ** 0.5 or 1.0
    return [x / norm for x in raw]


def _scripted_status(action: Action, authorization: str) -> tuple[str, dict[str, str]]:
    """The message and headers of a scripted error status (``Retry-After``, an echoed key)."""
    headers = {}
    if action.retry_after is not None:
        headers["Retry-After"] = f"{action.retry_after:g}"
    message = f"scripted status {action.status}"
    if action.echo_key:
        key = authorization.removeprefix("Bearer ")
        message += f": Incorrect API key provided: {key}"
    return message, headers


def embeddings_response(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI embeddings response: one deterministic vector per input text."""
    inputs = body.get("input", [])
    texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
    data = [
        {"object": "embedding", "index": i, "embedding": embedding_vector(text)}
        for i, text in enumerate(texts)
    ]
    tokens = sum(len(t.split()) for t in texts) or 1
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model", "fake-embedding")),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


class _Handler(BaseHTTPRequestHandler):
    """Answers the chat completions and embeddings routes from the fake's script."""

    fake: FakeOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body: dict[str, Any] = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsed": raw.decode(errors="replace")}
        self.fake._record(self.path, httpx.Headers(self.headers.items()), body)
        try:
            self._route(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer
        finally:
            self.fake._done()

    def _route(self, body: dict[str, Any]) -> None:
        path = self.path.rstrip("/")
        if path in ("/v1/chat/completions", "/chat/completions"):
            self._chat(body)
        elif path in ("/v1/embeddings", "/embeddings"):
            self._embeddings(body)
        else:
            self._error(404, f"no route {self.path}")

    def _chat(self, body: dict[str, Any]) -> None:
        if body.get("stream"):
            self._error(400, "the fake server does not stream")
            return
        action = self.fake._match(body.get("messages", [])) or self.fake._pop()
        if action.kind == "hang":
            self.fake._wait(action.seconds)
            action = Action("reply", content=self.fake.default_reply)
        if action.kind == "status":
            message, headers = _scripted_status(action, self.headers.get("Authorization", ""))
            self._error(action.status, message, headers)
            return
        self.fake._wait(self.fake.reply_delay_s)
        model = str(body.get("model", "fake"))
        self._send(200, chat_completion(model, action.content, body.get("messages", [])))

    def _embeddings(self, body: dict[str, Any]) -> None:
        action = self.fake._pop()
        if action.kind == "status":
            self._error(action.status, f"scripted status {action.status}")
            return
        self._send(200, embeddings_response(body))

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        error = {"message": message, "type": "fake_error", "code": str(status)}
        self._send(status, {"error": error}, headers)

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"fake": server})
