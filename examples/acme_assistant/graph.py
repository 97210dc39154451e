"""The agent as a LangGraph ``StateGraph`` (the third way to reach it, besides run and HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph

from examples.acme_assistant.agent import AgentState, Simulation
from examples.acme_assistant.config import AgentConfig
from examples.acme_assistant.runtime import resolve_config


def build_graph(config: str | Path | AgentConfig | None = None) -> Any:
    """A compiled graph; invoke it with `prepare(inputs)`; the result's ``trace`` is the Trace."""
    sim = Simulation(resolve_config(config))
    graph = StateGraph(AgentState)
    for name in (
        "route",
        "search",
        "tool",
        "select_context",
        "answer",
        "draft",
        "format",
        "finish",
    ):
        graph.add_node(name, getattr(sim, name))
    graph.add_edge(START, "route")
    graph.add_conditional_edges(
        "route", sim.after_route, {n: n for n in ("search", "tool", "answer", "draft")}
    )
    graph.add_edge("search", "select_context")
    graph.add_edge("tool", "select_context")
    graph.add_conditional_edges(
        "select_context", sim.after_context, {"answer": "answer", "draft": "draft"}
    )
    graph.add_edge("answer", "format")
    graph.add_edge("draft", "format")
    graph.add_edge("format", "finish")
    graph.add_edge("finish", END)
    return graph.compile()
