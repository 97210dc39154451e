"""The registry: contracts, plugins registered like the built-ins, and failures kept as records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flywheel.clustering._signature import structural_features
from flywheel.detectors import (
    DetectorRegistry,
    Finding,
    Symptom,
    TraceView,
    default_registry,
    detect,
    detector,
)
from flywheel.errors import UserError
from flywheel.plugins import PluginError
from flywheel.trace import Trace
from tests.helpers.plugins import DetectorPlugin, installed
from triage import MemberTrace, gather_evidence
from triage._classify import trace_scores
from triage._facts import Baseline, fact_names

TRACE = Trace.model_validate(
    {
        "trace_id": "t1",
        "input": "Please refund order 12",
        "output": "Your refund is on its way.",
        "steps": [{"id": "s1", "type": "tool", "name": "lookup", "error": "HTTP 504 timeout"}],
    }
)


def test_every_built_in_declares_what_it_reads_and_what_each_symptom_is_evidence_for() -> None:
    assert len(default_registry()) >= 20
    for item in default_registry():
        contract = item.contract
        assert contract.reads, contract.name
        assert contract.emits, contract.name
        assert contract.description, contract.name
        for symptom in contract.emits.values():
            assert 0.0 <= symptom.weight <= 1.0
            assert (symptom.cause is None) == (symptom.weight == 0.0), contract.name
    # One symptom, one rule: no two detectors emit the same name.
    symptoms = default_registry().symptoms()
    assert len(symptoms) == len(set(symptoms))


def test_a_detection_carries_its_contract_s_evidence() -> None:
    (timeout,) = [d for d in detect(TRACE).detections if d.symptom == "tool_timeout"]
    assert (timeout.detector, timeout.step_id) == ("step_errors", "s1")
    assert timeout.cause == "latency_infra"
    assert timeout.weight == 1.0
    assert timeout.strength == 1.0
    assert timeout.feature


def test_a_plugin_registers_through_the_same_hook_and_reaches_triage() -> None:
    @detector(
        "refund_promise",
        reads=("trace.output",),
        emits={"refund_promised": Symptom("prompt_instruction", 0.7)},
    )
    def refund_promise(view: TraceView) -> Iterator[Finding]:
        """The answer promises a refund."""
        if "refund" in view.output.lower():
            yield Finding("refund_promised", "promises a refund", view.answer_id, 0.8)

    assert "refund_promised" not in fact_names()
    with installed(DetectorPlugin(refund_promise)):
        found = {d.symptom: d for d in detect(TRACE).detections}
        assert found["refund_promised"].strength == 0.8
        assert "refund_promised" in fact_names()
        assert trace_scores(["refund_promised"]) == {"prompt_instruction": 0.7}
        assert "symptom:refund_promised" in structural_features(TRACE)
    assert "refund_promised" not in fact_names()


def test_a_plugin_claiming_a_built_in_symptom_is_refused_naming_the_plugin() -> None:
    @detector("my_errors", reads=("steps",), emits={"tool_timeout": Symptom()})
    def my_errors(view: TraceView) -> Iterator[Finding]:
        yield from ()

    with (
        installed(DetectorPlugin(my_errors), name="acme"),
        pytest.raises(PluginError, match=r"plugin 'acme'.*already emitted by 'step_errors'"),
    ):
        detect(TRACE)


def test_a_name_or_a_symptom_claimed_twice_is_refused_with_the_owner_named() -> None:
    registry = DetectorRegistry()

    def nothing(view: TraceView) -> Iterator[Finding]:
        yield from ()

    registry.register(detector("a", reads=("x",), emits={"s": Symptom()})(nothing))
    with pytest.raises(UserError, match="already registered"):
        registry.register(detector("a", reads=("x",), emits={"t": Symptom()})(nothing))
    with pytest.raises(UserError, match="already emitted by 'a'"):
        registry.register(detector("b", reads=("x",), emits={"s": Symptom()})(nothing))
    with pytest.raises(ValueError, match="weight"):
        Symptom("tool_arguments", 1.5)


def test_a_detector_that_raises_or_breaks_its_contract_is_recorded_and_the_rest_run() -> None:
    registry = DetectorRegistry()

    @detector("crashes", reads=("steps",), emits={"x": Symptom()})
    def crashes(view: TraceView) -> Iterator[Finding]:
        yield Finding("x", "before the crash")
        raise KeyError("steps[3].output")

    @detector("undeclared", reads=("x",), emits={"y": Symptom()})
    def undeclared(view: TraceView) -> Iterator[Finding]:
        yield Finding("not_declared", "oops")

    @detector("too_strong", reads=("x",), emits={"z": Symptom()})
    def too_strong(view: TraceView) -> Iterator[Finding]:
        yield Finding("z", "oops", strength=2.0)

    @detector("fine", reads=("x",), emits={"ok": Symptom()})
    def fine(view: TraceView) -> Iterator[Finding]:
        yield Finding("ok", "works")

    for made in (crashes, undeclared, too_strong, fine):
        registry.register(made)
    run = detect(TRACE, registry=registry)
    assert run.symptoms() == ["ok"]
    failures = {f.detector: f for f in run.failures}
    assert set(failures) == {"crashes", "undeclared", "too_strong"}
    assert failures["crashes"].error.startswith("KeyError")
    assert failures["crashes"].trace_id == "t1"
    assert "not declared" in failures["undeclared"].error
    assert "not in [0, 1]" in failures["too_strong"].error


def test_a_crashing_plugin_never_stops_clustering_features_or_triage() -> None:
    @detector("always_crashes", reads=("steps",), emits={"never": Symptom()})
    def always_crashes(view: TraceView) -> Iterator[Finding]:
        raise RuntimeError("malformed step")
        yield  # pragma: no cover

    with installed(DetectorPlugin(always_crashes)):
        assert "symptom:tool_timeout" in structural_features(TRACE)
        evidence = gather_evidence("C-1", [MemberTrace(TRACE)], Baseline())
        assert evidence.detector_failures == {"always_crashes": 1}
        assert evidence.fact_rates["tool_timeout"] == 1.0


@pytest.mark.parametrize(
    "step",
    [
        {"id": "1", "type": "retriever", "output": {"documents": [None, 3, {"x": 1}, "a" * 500]}},
        {"id": "2", "type": "tool", "name": "t", "input": "{not json", "output": [1, [2]]},
        {"id": "3", "type": "chain", "input": {"candidates": "x"}, "output": {"context": None}},
        {"id": "4", "type": "llm", "input": [[], {"role": None}], "metadata": {"tools": "[{"}},
        {"id": "5", "type": "tool", "name": "t", "metadata": {"tool.parameters": "[1, 2]"}},
        {"id": "6", "type": "retriever", "metadata": {"retrieval.documents.x.document.id": 1}},
    ],
)
def test_malformed_steps_raise_in_no_built_in_detector(step: dict[str, object]) -> None:
    trace = Trace.model_validate({"trace_id": "odd", "input": {"history": "x"}, "steps": [step]})
    assert detect(trace).failures == []
