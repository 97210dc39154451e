"""The built-in detectors on native (flywheel JSONL) traces: each fires on its evidence only."""

from __future__ import annotations

from typing import Any

import pytest

from flywheel.detectors import detect
from flywheel.trace import Trace

DOCS = [
    {"id": "POL-7-v2", "title": "Policy: refund window (2026)", "date": "2026-09-01"},
    {"id": "FAQ-7", "title": "FAQ: refund window for hardware returns", "date": "2026-05-02"},
    {"id": "POL-7-v1", "title": "Policy: refund window (2024)", "date": "2024-03-02"},
    {"id": "KB-3", "title": "Shipping carriers overview", "date": "2026-08-01"},
]


def _trace(output: str, *, steps: list[dict[str, Any]] | None = None, **fields: Any) -> Trace:
    retrieval = {"id": "r", "type": "retriever", "name": "bm25", "output": {"documents": DOCS}}
    return Trace.model_validate(
        {
            "trace_id": "t1",
            "timestamp": "2026-11-20T10:00:00Z",
            "input": fields.pop("input", "What is our refund window policy?"),
            "output": output,
            "steps": [retrieval] if steps is None else steps,
            **fields,
        }
    )


def _names(trace: Trace) -> set[str]:
    return set(detect(trace).symptoms())


def test_a_faithful_answer_has_no_symptom() -> None:
    run = detect(_trace("Policy: the refund window is 30 days. [POL-7-v2]"))
    # Only context (a money word, for severity): no feature, no evidence for a cause.
    assert [d.symptom for d in run.detections] == ["harm_terms"]
    assert run.features() == []
    assert run.failures == []


def test_citing_a_document_the_answer_does_not_follow_is_a_mismatch() -> None:
    trace = _trace("Policy: the refund window (2026) is 30 days. [FAQ-7]")
    assert "citation_mismatch" in _names(trace)


def test_citing_a_source_nobody_retrieved() -> None:
    assert "citation_not_retrieved" in _names(_trace("The window is 30 days. [DOC-99]"))


def test_an_old_edition_cited_while_a_newer_one_was_retrieved_is_stale() -> None:
    trace = _trace("Policy: refund window is 14 days. [POL-7-v1]")
    symptoms = {d.symptom: d for d in detect(trace).detections}
    assert "stale_source" in symptoms
    assert "POL-7-v1" in symptoms["stale_source"].evidence


def test_a_series_with_identical_titles_is_not_an_edition() -> None:
    docs = [
        {"id": "KB-16", "title": "Weekly digest", "date": "2026-09-14"},
        {"id": "KB-17", "title": "Weekly digest", "date": "2026-09-21"},
    ]
    steps = [{"id": "r", "type": "retriever", "name": "bm25", "output": {"documents": docs}}]
    assert "stale_source" not in _names(_trace("Weekly digest: news. [KB-16]", steps=steps))


@pytest.mark.parametrize(
    ("request_text", "greeting", "invented"),
    [
        ("Write to Hana at Soylent about the delay.", "Hi Morgan,", True),
        ("Write to Hana at Soylent about the delay.", "Hi Hana,", False),
        ("Email the carrier about the delay.", "Dear Shipping,", False),  # a document's title
        ("Email the carrier about the delay.", "Hello team,", False),  # nobody in particular
        ("Email the carrier about the delay.", "Thanks for writing, Morgan.", False),  # no greeting
    ],
)
def test_an_answer_greeting_someone_no_source_names(
    request_text: str, greeting: str, invented: bool
) -> None:
    trace = _trace(f"Subject: delay\n\n{greeting}\n\nIt ships Monday.", input=request_text)
    assert ("unknown_addressee" in _names(trace)) is invented


@pytest.mark.parametrize(
    ("fmt", "output", "ignored"),
    [
        ("bullets", "- refund window 30 days\n- Source: [POL-7-v2]", False),
        ("bullets", "hey! so basically the window is 30 days [POL-7-v2]", True),
        ("formal", "Dear colleague,\n\nThe window is 30 days.\n\nKind regards", False),
        ("formal", "hey! so basically the window is 30 days", True),
        ("json", '{"window_days": 30}', False),
        ("json", "window: 30 days", True),
    ],
)
def test_a_requested_format_that_the_answer_ignores(fmt: str, output: str, ignored: bool) -> None:
    steps = [{"id": "f", "type": "chain", "name": "format", "input": {"format": fmt}}]
    trace = _trace(output, steps=steps, input="Tell me the refund window.")
    assert ("format_ignored" in _names(trace)) is ignored


def test_a_format_asked_in_the_request_counts_too() -> None:
    trace = _trace("The window is 30 days.", steps=[], input="Give me the refund rules as bullets")
    assert "format_ignored" in _names(trace)


def test_evaluators_that_disagree_and_judges_that_contradict_users() -> None:
    scores = [
        {"name": "groundedness", "value": 0.92, "source": "judge"},
        {"name": "helpfulness", "value": 0.08, "source": "judge"},
    ]
    liked = [{"kind": "thumb", "source": "user", "value": 1}]
    trace = _trace("fine [POL-7-v2]", steps=[], scores=scores, feedback=liked)
    assert {"evaluators_disagree", "judge_contradicts_user"} <= _names(trace)
    # A task outcome (reward) is not an evaluator: a failed task with a confident judge is not
    # a disagreement between evaluators.
    outcome = [{"name": "reward", "value": 0.0}, {"name": "groundedness", "value": 0.9}]
    assert "evaluators_disagree" not in _names(_trace("x", steps=[], scores=outcome))


@pytest.mark.parametrize(
    ("feedback", "contradicts"),
    [
        ({"kind": "comment", "source": "reviewer", "review_state": "approved"}, True),
        ({"kind": "rating", "source": "user", "value": 5, "scale": 5}, True),
        ({"kind": "implicit", "source": "system", "comment": "merged"}, False),  # not a person
        ({"kind": "thumb", "source": "user", "value": -1}, False),
    ],
)
def test_a_failing_judge_contradicts_any_approval_by_a_person(
    feedback: dict[str, Any], contradicts: bool
) -> None:
    from flywheel.config import SignalsConfig
    from flywheel.signals import derive_signals

    judge = [{"name": "pr_quality", "value": 0.12, "source": "judge"}]
    trace = _trace("Opened #12. CI passed.", steps=[], scores=judge, feedback=[feedback])
    signals = derive_signals(trace, config=SignalsConfig())
    assert ("judge_contradicts_user" in detect(trace, signals).symptoms()) is contradicts


@pytest.mark.parametrize(
    ("error", "symptom"),
    [
        (
            "ValueError: since='last week' is not an ISO date (YYYY-MM-DD)",
            "tool_argument_error",
        ),
        ("missing required parameter 'order_id'", "tool_argument_error"),
        ("TimeoutError: search did not answer in 10 s", "tool_timeout"),
        ("HTTP 504 Gateway Time-out", "tool_timeout"),
        ("ConnectionResetError: [Errno 104] Connection reset by peer", "infrastructure_error"),
        ("429 Too Many Requests", "infrastructure_error"),
        ("order 12 is already shipped; cannot be changed", "tool_rejected_call"),
    ],
)
def test_how_a_tool_call_failed(error: str, symptom: str) -> None:
    steps = [{"id": "t", "type": "tool", "name": "ticket_search", "error": error}]
    errors = {"tool_timeout", "tool_argument_error", "infrastructure_error", "tool_rejected_call"}
    assert _names(_trace("Sorry.", steps=steps)) & errors == {symptom}


def test_guardrails_exceptions_limits_loops_and_handoffs_in_step_texts() -> None:
    long_page = "page text " * 2000 + "Error code: 400 ResponsibleAIPolicyViolation content_filter"
    steps: list[dict[str, Any]] = [
        {"id": "1", "type": "agent", "name": "WebSurfer", "output": long_page},
        {
            "id": "2",
            "type": "agent",
            "name": "Coder",
            "output": "Traceback (most recent call last):",
        },
        {"id": "3", "type": "agent", "name": "Orchestrator", "output": "Max time (1500s) reached."},
        {"id": "4", "type": "tool", "name": "transfer_to_human_agents", "input": {}},
    ]
    steps += [
        {"id": f"s{i}", "type": "tool", "name": "search", "input": {"q": "same"}} for i in range(3)
    ]
    names = _names(_trace("", steps=steps))
    assert {
        "blocked_by_guardrail",
        "exception_in_step",
        "limit_reached",
        "handed_off",
        "repeated_action",
    } <= names


def test_a_bot_check_page_is_a_guardrail() -> None:
    page = "www.example.org\nVerify you are human by completing the action below."
    steps: list[dict[str, Any]] = [
        {"id": "1", "type": "agent", "name": "WebSurfer", "output": page}
    ]
    assert "blocked_by_guardrail" in _names(_trace("", steps=steps))


def test_odd_content_never_breaks() -> None:
    steps: list[dict[str, Any]] = [
        {"id": "1", "type": "retriever", "name": "r", "output": {"documents": [None, 3, {"x": 1}]}},
        {"id": "2", "type": "retriever", "name": "r2", "output": {"documents": []}},
        {"id": "3", "type": "tool", "name": "t", "input": {"when": object.__name__}, "output": 5},
    ]
    names = _names(_trace("ответ [док-1] 答案", steps=steps, input=""))
    assert "empty_retrieval" in names


def test_a_model_call_timing_out_is_not_a_tool_timing_out() -> None:
    steps = [{"id": "m", "type": "llm", "name": "answer", "error": "Request timed out after 60s"}]
    found = {d.symptom: d for d in detect(_trace("", steps=steps)).detections}
    assert "step_timeout" in found
    assert "tool_timeout" not in found
    assert found["step_timeout"].cause == "latency_infra"
