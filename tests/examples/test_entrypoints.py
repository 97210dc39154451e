"""The three ways to reach the agent agree, and requests keep their ground truth."""

from __future__ import annotations

import importlib
import random

import pytest

from examples.acme_assistant import build_graph, prepare, run
from examples.acme_assistant.corpus_builder import CORPUS_PATH, build_corpus, write_corpus
from examples.acme_assistant.requests import TEMPLATES, render
from flywheel.errors import UserError
from flywheel.trace import StepType

REQUESTS = [
    "Draft an email to Dana Whitfield at Globex confirming the renewal date.",
    "Show me Initech's support tickets from last week.",
    "Hi!",
    "Give me Hooli's renewal terms in bullet points.",
]


@pytest.mark.parametrize("text", REQUESTS)
def test_entry_point_and_graph_give_the_same_trace(text: str) -> None:
    module, _, name = "examples.acme_assistant:run".partition(":")
    entry = getattr(importlib.import_module(module), name)
    inputs = {"input": text, "seed": 4, "repeat": 1}
    by_entry = entry(inputs, None)
    by_graph = build_graph(None).invoke(prepare(inputs))["trace"]
    assert by_entry.to_json() == by_graph.to_json()
    assert by_entry.route is not None
    assert by_entry.steps[0].type is StepType.router


def test_repeats_vary_and_seeds_reproduce() -> None:
    text = "Draft an email to Dana Whitfield at Globex confirming the renewal date."
    outputs = {run({"input": text, "seed": 1, "repeat": r}).to_json() for r in range(12)}
    assert len(outputs) > 1
    assert run({"input": text, "seed": 1}).to_json() == run({"input": text, "seed": 1}).to_json()


def test_search_is_a_tool_call_with_a_retriever_child() -> None:
    trace = run({"input": "What are the renewal terms for Globex?", "seed": 2})
    kinds = [step.type for step in trace.steps]
    assert kinds[:3] == [StepType.router, StepType.tool, StepType.retriever]
    assert trace.steps[2].parent_id == trace.steps[1].id
    assert trace.tool_calls == 1
    top = [s.latency_ms or 0 for s in trace.steps if s.parent_id is None]
    assert trace.latency_ms == pytest.approx(sum(top), abs=0.2)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(UserError, match='"input"'):
        run({"text": "hi"})
    with pytest.raises(UserError, match='"seed"'):
        run({"input": "hi", "seed": "one"})


def test_templates_round_trip_to_their_intent() -> None:
    rng = random.Random(0)
    for intent, templates in TEMPLATES.items():
        for index in range(len(templates)):
            for _ in range(5):
                request = render(intent, index, rng)
                assert request.intent == intent, request.text
                assert request.gold or intent in ("chitchat", "unsupported"), request.text


def test_committed_corpus_matches_its_builder(tmp_path: object) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "corpus.jsonl"
    count = write_corpus(target)
    assert target.read_bytes() == CORPUS_PATH.read_bytes()
    assert 150 <= count == len(build_corpus()) <= 250
