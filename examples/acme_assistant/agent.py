"""The simulated assistant: route -> search | tool -> select_context -> answer | draft -> format.

Every node is a pure function of the state and of a random stream seeded by
sha256(seed, repeat, request text, node name), so a run is reproducible, repeats differ, and two
configurations see the same random numbers (paired comparisons). The hidden outcome
(``failure``) travels in the state but never into the trace. `Simulation.drive` runs the nodes
in graph order without LangGraph's per-call overhead (the traffic generator uses it);
`build_graph` wires the same nodes into a LangGraph ``StateGraph``; both give the same trace.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from examples.acme_assistant import behaviours
from examples.acme_assistant.config import AgentConfig
from examples.acme_assistant.corpus import Document, documents_by_id
from examples.acme_assistant.requests import Request, understand
from examples.acme_assistant.routing import Router
from examples.acme_assistant.search import TOP_K, search
from examples.acme_assistant.texts import render_answer
from examples.acme_assistant.world import DEFAULT_START
from flywheel.errors import UserError
from flywheel.trace import Step, Trace

APP_VERSION = "acme-assistant/1.0"
MODEL = "acme-sim-1"
SEARCH_TIMEOUT_P = 0.02
TOOL_TIMEOUT_P = 0.06
LONG_ANSWER_JUDGE_P = 0.3


class AgentState(TypedDict, total=False):
    text: str
    history: list[str]
    seed: int
    repeat: int
    timestamp: str
    trace_id: str
    session_id: str | None
    user_id: str | None
    request: Request
    route: str
    self_search: bool
    tool_ok: bool
    docs: list[str]
    context: list[str]
    failure: str | None
    answer: str
    scores: dict[str, float]
    steps: list[dict[str, Any]]
    trace: Trace


def prepare(inputs: dict[str, Any]) -> AgentState:
    """Validate the caller's inputs into an initial state."""
    text = next((inputs[k] for k in ("input", "question", "message") if k in inputs), None)
    if not isinstance(text, str) or not text.strip():
        raise UserError('inputs need a non-empty "input" string (the user\'s request)')
    seed, repeat = inputs.get("seed", 0), inputs.get("repeat", 0)
    if not isinstance(seed, int) or not isinstance(repeat, int):
        raise UserError('"seed" and "repeat" must be integers')
    timestamp = inputs.get("timestamp") or f"{DEFAULT_START.isoformat()}T09:00:00+00:00"
    try:
        datetime.fromisoformat(str(timestamp))
    except ValueError as exc:
        raise UserError(f'"timestamp" must be ISO 8601, got {timestamp!r}') from exc
    history = inputs.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise UserError('"history" must be a list of earlier user messages (strings)')
    trace_id = inputs.get("trace_id") or _digest(f"{seed}|{repeat}|{timestamp}|{text}")[:32]
    return AgentState(
        text=text,
        history=list(history),
        seed=seed,
        repeat=repeat,
        timestamp=str(timestamp),
        trace_id=str(trace_id),
        session_id=inputs.get("session_id"),
        user_id=inputs.get("user_id"),
        steps=[],
        docs=[],
        context=[],
        failure=None,
        self_search=False,
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _rng(state: AgentState, node: str) -> random.Random:
    key = f"{state['seed']}|{state['repeat']}|{state['text']}|{node}"
    return random.Random(int(_digest(key)[:16], 16))


def _step(state: AgentState, kind: str, name: str, **fields: Any) -> list[dict[str, Any]]:
    steps = list(state.get("steps", []))
    steps.append(
        {"id": f"{state['trace_id'][:8]}-{len(steps) + 1}", "type": kind, "name": name} | fields
    )
    return steps


class Simulation:
    """The nodes of the agent for one configuration."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.router = Router(config.routing)
        self.instructed = behaviours.instructed(config)
        self.demonstrated = behaviours.demonstrated(config)
        self.tools = {tool.name for tool in config.tools.tools}
        prompt_chars = sum(len(t) for t in config.prompts.values()) + sum(
            len(e.request) + len(e.response) for f in config.fewshot.values() for e in f.examples
        )
        self.prompt_tokens = 120 + prompt_chars // 4

    def p(self, behaviour: str, off: float, on: float) -> float:
        """Failure probability: low when instructed, reduced when shown by few-shot examples."""
        if behaviour in self.instructed:
            return on
        return off * 0.4 if behaviour in self.demonstrated else off

    # -- nodes -------------------------------------------------------------------------------
    def route(self, state: AgentState) -> AgentState:
        rng = _rng(state, "route")
        request = understand(state["text"])
        decision = self.router.route(state["text"])
        u = rng.random()
        self_search = (
            decision.route == "direct"
            and request.customer is not None
            and request.intent in ("account", "draft", "format")
            and "search_first" in self.instructed
            and u < 0.8
        )
        steps = _step(
            state,
            "router",
            "route",
            input={"text": state["text"]},
            output=decision.as_output(),
            latency_ms=round(rng.uniform(8, 25), 1),
            metadata={"model_requested_search": self_search} if self_search else {},
        )
        return {
            "request": request,
            "route": decision.route,
            "self_search": self_search,
            "steps": steps,
        }

    def after_route(self, state: AgentState) -> str:
        if state["route"] == "search" or state.get("self_search"):
            return "search"
        if state["route"] == "tool":
            return "tool"
        return "draft" if state["request"].intent == "draft" else "answer"

    def search(self, state: AgentState) -> AgentState:
        """The model calls the ``search_knowledge`` tool; its retrieval is a child step."""
        rng = _rng(state, "search")
        u, latency = rng.random(), rng.lognormvariate(5.5, 0.35)
        query = {"query": state["text"], "top_k": TOP_K}
        failure = state.get("failure")
        docs: list[dict[str, Any]] = []
        hits: tuple[tuple[Document, float], ...] = ()
        error: str | None = None
        if u < SEARCH_TIMEOUT_P:
            latency = rng.uniform(10_000, 12_000)
            error = "TimeoutError: search did not answer in 10 s"
            failure = failure or "tool_timeout"
        else:
            hits = search(state["text"])
            docs = [{"id": d.id, "title": d.title, "date": d.date, "score": s} for d, s in hits]
        overhead = rng.uniform(4, 12)
        steps = _step(
            state,
            "tool",
            "search_knowledge",
            input=query,
            error=error,
            output=None if error else {"documents": [d["id"] for d in docs]},
            latency_ms=round(latency + overhead, 1),
        )
        parent = steps[-1]["id"]
        steps = _step(
            {**state, "steps": steps},
            "retriever",
            "bm25",
            parent_id=parent,
            input=query,
            error=error,
            output=None if error else {"documents": docs},
            latency_ms=round(latency, 1),
        )
        return {"steps": steps, "docs": [d.id for d, _ in hits], "failure": failure}

    def tool(self, state: AgentState) -> AgentState:
        rng = _rng(state, "tool")
        u_timeout, u_args, latency = rng.random(), rng.random(), rng.lognormvariate(5.9, 0.3)
        request = state["request"]
        name = {"tickets": "ticket_search", "status": "status_lookup"}.get(request.intent)
        if name is None or name not in self.tools:
            return {}  # no tool fits: the model answers without one
        day = datetime.fromisoformat(state["timestamp"]).date()
        error, results = None, []
        if name == "status_lookup":
            args: dict[str, Any] = {"service": request.topic}
            results = list(request.gold)
        else:
            customer = request.customer or ""
            since = (day - timedelta(days=7)).isoformat()
            if "since 2026-" in state["text"]:
                since = state["text"].split("since ", 1)[1][:10]
            elif "yesterday" in state["text"]:
                since = (day - timedelta(days=1)).isoformat()
            if request.relative_date and u_args < self.p("resolve_dates", 0.35, 0.03):
                since = next(
                    p
                    for p in ("last week", "yesterday", "past 7 days")
                    if p in state["text"].lower()
                )
                error = f"ValueError: since={since!r} is not an ISO date (YYYY-MM-DD)"
            args = {"customer": customer, "since": since}
            if error is None:
                results = sorted(
                    d.id
                    for d in documents_by_id().values()
                    if d.group == f"{customer}:tickets" and d.date >= since
                )
        failure = state.get("failure")
        if u_timeout < TOOL_TIMEOUT_P:
            latency, error, results = (
                rng.uniform(15_000, 30_000),
                "TimeoutError: tool timed out",
                [],
            )
            failure = failure or "tool_timeout"
        elif error is not None:
            failure = failure or "bad_tool_arguments"
        steps = _step(
            state,
            "tool",
            name,
            input=args,
            latency_ms=round(latency, 1),
            output=None if error else {"results": results},
            error=error,
        )
        return {"steps": steps, "docs": results, "failure": failure, "tool_ok": error is None}

    def select_context(self, state: AgentState) -> AgentState:
        rng = _rng(state, "select_context")
        context = list(state.get("docs", []))[:TOP_K]
        steps = _step(
            state,
            "chain",
            "select_context",
            input={"candidates": state.get("docs")},
            output={"context": context},
            latency_ms=round(rng.uniform(3, 12), 1),
        )
        return {"steps": steps, "context": context}

    def after_context(self, state: AgentState) -> str:
        return "draft" if state["request"].intent == "draft" else "answer"

    def answer(self, state: AgentState) -> AgentState:
        return self._generate(state, "answer")

    def draft(self, state: AgentState) -> AgentState:
        return self._generate(state, "draft")

    def _generate(self, state: AgentState, node: str) -> AgentState:
        rng = _rng(state, node)
        u = [rng.random() for _ in range(6)]
        request, context = state["request"], state.get("context", [])
        failure = state.get("failure") or self._grounding_failure(state, u[0])
        if failure is None and node == "draft":
            if u[1] < self.p("include_draft", 0.3, 0.03):
                failure = "omitted_draft"
            elif u[2] < self.p("known_recipients", 0.2 if request.contact else 0.4, 0.03):
                failure = "hallucinated_recipient"
        if (
            failure is None
            and node == "answer"
            and len(context) >= 2
            and request.intent in ("account", "policy", "format")
            and u[3] < self.p("cite_sources", 0.1, 0.02)
        ):
            failure = "wrong_citation"
        if failure is None and request.format and u[4] < self.p("follow_format", 0.4, 0.04):
            failure = "wrong_format"
        text = render_answer(request, node, context, failure, state["route"], rng)
        completion = max(12, len(text) // 4)
        prompt = self.prompt_tokens + len(state["text"]) // 4 + 160 * len(context)
        latency = 250 + completion * rng.uniform(12, 20)
        steps = _step(
            state,
            "llm",
            node,
            model=MODEL,
            input={"request": state["text"], "context": context},
            output=text,
            latency_ms=round(latency, 1),
            usage={
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
            cost_usd=round(prompt * 5e-7 + completion * 1.5e-6, 7),
        )
        return {"steps": steps, "answer": text, "failure": failure}

    def _grounding_failure(self, state: AgentState, u: float) -> str | None:
        request, context = state["request"], state.get("context", [])
        if request.intent == "unsupported":
            return "unsupported_capability"
        if state["route"] == "clarify" and not state.get("self_search"):
            return "needless_clarification"
        if request.intent == "chitchat":
            return "irrelevant_retrieval" if context and u < 0.35 else None
        if request.expected_route == "tool" and state.get("tool_ok") and not context:
            return None  # the tool answered "nothing found", which is right
        if not context or not request.gold:
            return "answered_from_memory"
        gold = request.gold[0]
        if gold not in context:
            if request.expected_route == "tool":
                return "irrelevant_retrieval"
            group = documents_by_id()[gold].group
            same = [d for d in context if documents_by_id()[d].group == group]
            return "stale_document" if same else "missed_key_document"
        before = context[: context.index(gold)]
        if any(documents_by_id()[d].superseded_by == gold for d in before) and u < 0.4:
            return "stale_document"
        return "answered_from_memory" if u > 0.99 else None

    def format(self, state: AgentState) -> AgentState:
        rng = _rng(state, "format")
        failure, answer = state.get("failure"), state.get("answer", "")
        u = rng.random()
        long_answer = "Subject:" in answer or answer.count("\n- ") >= 2
        if failure is None and long_answer and u < LONG_ANSWER_JUDGE_P:
            failure = "miscalibrated_judge"
        good = failure is None
        if failure == "miscalibrated_judge":
            scores = {"groundedness": rng.betavariate(8, 2), "helpfulness": rng.betavariate(1.5, 9)}
        elif good:
            scores = {"groundedness": rng.betavariate(9, 2), "helpfulness": rng.betavariate(8, 2)}
        else:
            scores = {"groundedness": rng.betavariate(3, 5), "helpfulness": rng.betavariate(2, 5)}
        steps = _step(
            state,
            "chain",
            "format",
            input={"format": state["request"].format},
            output=answer,
            latency_ms=round(rng.uniform(2, 6), 1),
        )
        return {
            "steps": steps,
            "failure": failure,
            "scores": {k: round(v, 3) for k, v in scores.items()},
        }

    def finish(self, state: AgentState) -> AgentState:
        return {"trace": build_trace(state, self.config)}

    def drive(self, state: AgentState) -> AgentState:
        """Run the nodes in graph order (same edges as `build_graph`)."""
        state = {**state, **self.route(state)}
        nxt = self.after_route(state)
        if nxt in ("search", "tool"):
            state = {**state, **getattr(self, nxt)(state)}
            state = {**state, **self.select_context(state)}
            nxt = self.after_context(state)
        state = {**state, **getattr(self, nxt)(state)}
        state = {**state, **self.format(state)}
        return {**state, **self.finish(state)}


def build_trace(state: AgentState, config: AgentConfig) -> Trace:
    start = datetime.fromisoformat(state["timestamp"])
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    clock, steps = start, []
    started: dict[str, datetime] = {}
    for raw in state["steps"]:
        parent = raw.get("parent_id")
        began = started.get(parent, clock) if parent else clock
        started[raw["id"]] = began
        steps.append(Step.model_validate({**raw, "start_time": began}))
        if not parent:  # child steps run inside their parent's time
            clock += timedelta(milliseconds=raw["latency_ms"])
    inputs: dict[str, Any] = {"input": state["text"]}
    if state.get("history"):
        inputs["history"] = state["history"]
    return Trace(
        trace_id=state["trace_id"],
        input=inputs,
        output=state.get("answer"),
        session_id=state.get("session_id"),
        user_id=state.get("user_id"),
        timestamp=start,
        latency_ms=round(sum(s["latency_ms"] for s in state["steps"] if not s.get("parent_id")), 1),
        cost_usd=round(sum(s.get("cost_usd", 0.0) for s in state["steps"]), 7),
        steps=steps,
        scores=[
            {"name": k, "value": v, "source": "judge:acme-sim"}
            for k, v in sorted(state.get("scores", {}).items())
        ],
        metadata={
            "app_version": APP_VERSION,
            "config_digest": config.digest[:12],
            "intent": state["request"].intent,
            "seed": state["seed"],
            "repeat": state["repeat"],
        },
    )
