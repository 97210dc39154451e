"""Implicit signals from sessions: asking again (repeat, rephrase) and abandonment."""

from __future__ import annotations

from flywheel.config import SignalsConfig
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.trace import SignalKind
from tests.helpers.signals import Ingest, record


def turn(
    trace_id: str, session: str, minute: int, text: str, **fields: object
) -> dict[str, object]:
    values = {
        "session_id": session,
        "user_id": "u1",
        "timestamp": f"2026-03-02T10:{minute:02d}:00Z",
        "input": text,
        **fields,
    }
    return record(trace_id, **values)


def kinds(store: Store, pk: int) -> list[SignalKind]:
    return [s.kind for s in store.signals_of(pk)]


def test_rephrase_and_repeat_mark_the_earlier_turn_but_an_unrelated_follow_up_does_not(
    store: Store, ingest: Ingest
) -> None:
    pks = ingest(
        [
            turn("a1", "rephrased", 0, "summarize the escalation notes for the Acme account"),
            turn("a2", "rephrased", 1, "please summarize the Acme escalation notes"),
            turn("b1", "repeated", 0, "draft a reply to the Globex complaint email"),
            turn("b2", "repeated", 2, "Draft a reply to the Globex complaint email!"),
            turn("c1", "moved-on", 0, "summarize the escalation notes for the Acme account"),
            turn("c2", "moved-on", 1, "what is the weather in Paris tomorrow"),
            turn("d1", "too-late", 0, "summarize the escalation notes for the Acme account"),
            turn("d2", "too-late", 30, "please summarize the Acme escalation notes"),
        ]
    )
    detect_failures(store, SignalsConfig())

    (rephrase,) = store.signals_of(pks["a1"])
    assert rephrase.kind is SignalKind.rephrase
    assert "a2" in rephrase.evidence
    assert rephrase.detail["next_trace_id"] == "a2"
    assert kinds(store, pks["b1"]) == [SignalKind.repeat]
    for quiet in ("a2", "b2", "c1", "c2", "d1", "d2"):
        assert kinds(store, pks[quiet]) == [], quiet


def test_another_user_in_the_session_is_not_a_rephrase(store: Store, ingest: Ingest) -> None:
    pks = ingest(
        [
            turn("x1", "shared", 0, "summarize the escalation notes for the Acme account"),
            turn("x2", "shared", 1, "summarize the escalation notes for the Acme account")
            | {"user_id": "u2"},
        ]
    )
    detect_failures(store, SignalsConfig())
    assert kinds(store, pks["x1"]) == []


def test_a_chat_history_growing_turn_by_turn_is_not_a_repeat(store: Store, ingest: Ingest) -> None:
    history = [{"role": "user", "content": "summarize the escalation notes for Acme"}]
    second = [
        *history,
        {"role": "assistant", "content": "Here is the summary."},
        {"role": "user", "content": "now draft an email to their CFO about the refund"},
    ]
    pks = ingest(
        [
            turn("h1", "chat", 0, "", input={"messages": history}),
            turn("h2", "chat", 1, "", input={"messages": second}),
        ]
    )
    detect_failures(store, SignalsConfig())
    assert kinds(store, pks["h1"]) == []


def test_a_session_ending_on_a_question_to_the_user_is_abandonment(
    store: Store, ingest: Ingest
) -> None:
    pks = ingest(
        [
            turn("q1", "left", 0, "book the quarterly review", output="Which room do you want?"),
            turn("ok", "done", 0, "book the quarterly review", output="Booked. Anything else?"),
            turn("w1", "waiting", 50, "book the quarterly review", output="Which room?"),
            # Traffic long after, so that the first two sessions are over.
            turn("later", "other", 59, "an unrelated request about invoices"),
        ]
    )
    detect_failures(store, SignalsConfig())

    (abandoned,) = store.signals_of(pks["q1"])
    assert abandoned.kind is SignalKind.abandonment
    assert "Which room do you want?" in abandoned.evidence
    assert abandoned.strength < SignalsConfig().failing_threshold
    assert kinds(store, pks["ok"]) == []
    # Nine minutes before the newest trace: the user may still answer.
    assert kinds(store, pks["w1"]) == []
