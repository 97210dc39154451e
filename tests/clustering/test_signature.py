"""Failure signatures: volatile details normalised away, odd content never breaks a run."""

from __future__ import annotations

import pytest

from flywheel.clustering import PARTS, build_signature, normalise
from flywheel.clustering._signature import TRUNCATED
from flywheel.errors import UserError
from flywheel.trace import FailureSignal, SignalKind, Trace


def _trace(**fields: object) -> Trace:
    return Trace.model_validate({"trace_id": "t1", "input": "hello", **fields})


def test_ids_numbers_dates_and_quoted_values_are_normalised() -> None:
    a = normalise(
        "ValueError: order #W8660475 for 'Stark Logistics' failed at 2026-11-02T10:00:01Z "
        "after 23.5 s (request 3f2a9c1d-1111-2222-3333-444455556666, mail bob@x.io)"
    )
    b = normalise(
        "ValueError: order #W1234567 for 'Wayne Foods' failed at 2025-01-30T08:12:00Z "
        "after 7 s (request 0b9e7c1d-aaaa-bbbb-cccc-ddddeeeeffff, mail amy@y.com)"
    )
    assert a == b
    for volatile in ("8660475", "Stark", "2026", "23.5", "3f2a9c1d", "bob@"):
        assert volatile not in a


def test_signature_describes_how_the_trace_failed() -> None:
    trace = _trace(
        output="Sorry, I could not get that.",
        steps=[
            {"id": "1", "type": "router", "name": "route", "output": {"route": "tool"}},
            {"id": "2", "type": "tool", "name": "lookup", "error": "TimeoutError: after 31s"},
        ],
        feedback=[{"kind": "comment", "comment": "it never answers"}],
    )
    signal = FailureSignal(kind=SignalKind.timeout, strength=0.8, evidence="timed out")
    text = build_signature(trace, [signal], parts=list(PARTS))
    assert "signals: timeout" in text
    assert "errors: lookup: TimeoutError: after <n>" in text
    assert "route tool" in text
    assert "lookup failed" in text
    assert "feedback: it never answers" in text
    assert text.index("signals:") < text.index("request:")


def test_structured_answers_keep_their_words_not_their_json() -> None:
    blocked = _trace(
        output={
            "pr": {"url": "https://git/x/1"},
            "status": "blocked",
            "summary": "Blocked: git push failed",
        }
    )
    replied = _trace(
        output={
            "reply": "Your credit of 3 GBP is applied.",
            "quick_replies": ["I still need help"],
            "handoff": False,
        }
    )
    a = build_signature(blocked, parts=["output"])
    b = build_signature(replied, parts=["output"])
    assert a == "output: url: <url> | status: blocked | summary: Blocked: git push failed"
    assert "reply: Your credit of <n> GBP is applied." in b
    assert "quick_replies: I still need help" in b
    assert "handoff: false" in b
    assert "<v>" not in a + b  # JSON's quoted keys used to read as the same placeholder


def test_feedback_keeps_what_people_wrote_not_logged_events() -> None:
    trace = _trace(
        feedback=[
            {"kind": "implicit", "source": "system", "comment": "case reopened by customer"},
            {"kind": "correction", "source": "reviewer", "comment": "the credit is wrong"},
        ]
    )
    assert build_signature(trace, parts=["feedback"]) == "feedback: the credit is wrong"


def test_enormous_steps_are_truncated_with_a_marker() -> None:
    trace = _trace(
        input="x " * 50_000,
        output="y" * 100_000,
        steps=[{"id": "1", "type": "tool", "name": "dump", "error": "E" * 100_000}],
    )
    text = build_signature(trace, parts=list(PARTS), max_part_chars=200, max_signature_chars=600)
    assert len(text) <= 600
    assert TRUNCATED in text


def test_empty_and_non_english_text_are_fine() -> None:
    assert build_signature(_trace(input=""), parts=list(PARTS)) == "(empty trace)"
    text = build_signature(
        _trace(input="Почему заказ не пришёл? 注文が届きません", output="不明"), parts=list(PARTS)
    )
    assert "Почему заказ не пришёл" in text
    assert "注文が届きません" in text


def test_unknown_signature_part_lists_the_valid_ones() -> None:
    with pytest.raises(UserError, match="valid: " + ", ".join(PARTS)):
        build_signature(_trace(), parts=["signals", "vibes"])
