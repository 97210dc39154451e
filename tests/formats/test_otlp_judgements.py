"""Feedback carried as span events and evaluation results carried as span attributes are read
as feedback and scores (they were kept as metadata, so the failures they mark went unseen)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flywheel.config import SignalsConfig
from flywheel.ingest import ingest_paths
from flywheel.signals import detect_failures
from flywheel.store import Store
from flywheel.trace import FeedbackKind, FeedbackSource


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def _document(trace_id: str, attributes: dict[str, Any], events: list[Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", "support-bot")]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": "a1",
                                "name": "answer",
                                "startTimeUnixNano": "1760000000000000000",
                                "endTimeUnixNano": "1760000001000000000",
                                "attributes": [
                                    _attr("openinference.span.kind", "AGENT"),
                                    _attr("input.value", "Where is my parcel?"),
                                    _attr("output.value", "It left the depot."),
                                    *[_attr(k, v) for k, v in attributes.items()],
                                ],
                                "events": events,
                            }
                        ]
                    }
                ],
            }
        ]
    }


def _event(name: str, **attributes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "timeUnixNano": "1760000002000000000",
        "attributes": [_attr(k, v) for k, v in attributes.items()],
    }


def test_span_events_and_eval_attributes_become_feedback_and_scores(
    store: Store, tmp_path: Path
) -> None:
    documents = [
        _document(
            "t-events",
            {},
            [
                _event("user_feedback", **{"feedback.kind": "thumb", "feedback.value": -1}),
                _event("escalation", source="slack_reaction", comment="customer asked for a human"),
            ],
        ),
        _document(
            "t-evals",
            {
                "eval.hallucination.score": 0.9,
                "eval.hallucination.explanation": "the depot is not in the sources",
                "eval.faithfulness": 0.95,
                "relevance.score": 0.8,
                "retrieval.documents.0.document.score": 0.1,  # a document's score, not an eval
            },
            [],
        ),
    ]
    path = tmp_path / "spans.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")

    counts = ingest_paths(store, [path])
    detect_failures(store, SignalsConfig())

    assert (counts.stored, counts.quarantined) == (2, 0)
    events = store.get_trace("t-events").trace
    thumb, escalation = events.feedback
    assert (thumb.kind, thumb.value, thumb.source) == (
        FeedbackKind.thumb,
        -1.0,
        FeedbackSource.user,
    )
    assert (escalation.kind, escalation.value) == (FeedbackKind.implicit, -1.0)
    assert escalation.comment == "customer asked for a human"
    assert escalation.model_extra is not None
    assert escalation.model_extra["kind_raw"] == "escalation"
    assert escalation.model_extra["source_raw"] == "slack_reaction"
    assert store.get_trace("t-events").failing is True

    evals = store.get_trace("t-evals")
    assert sorted((s.name, s.value) for s in evals.trace.scores) == [
        ("faithfulness", 0.95),
        ("hallucination", 0.9),
        ("relevance", 0.8),
    ]
    assert evals.failing is True  # a hallucination of 0.9 is bad, read in its own direction


def test_the_answer_is_the_last_ai_message_of_a_messages_state(
    store: Store, tmp_path: Path
) -> None:
    # LangGraph-style output: the whole state, the user's turn included.
    state = json.dumps(
        {
            "messages": [
                {"type": "human", "content": "Where is my parcel?"},
                {"type": "ai", "content": "It left the depot this morning."},
            ]
        }
    )
    document = _document("t-state", {"output.mime_type": "application/json"}, [])
    attributes = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    for pair in attributes:
        if pair["key"] == "output.value":
            pair["value"] = {"stringValue": state}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    ingest_paths(store, [path])

    assert store.get_trace("t-state").trace.output_text == "It left the depot this morning."


def test_feedback_events_are_known_by_their_vocabulary_not_one_name(
    store: Store, tmp_path: Path
) -> None:
    """Events named by a team's own scheme (``feedback.submitted``, ``memo.rated``,
    ``analyst.reask``, ``slack.reaction_added``) whose name or attribute namespace is a
    feedback word are feedback, with the value, scale and comment under that namespace."""
    documents = [
        _document(
            "t-submitted",
            {},
            [
                _event(
                    "feedback.submitted",
                    **{"feedback.kind": "thumb", "feedback.value": 0, "feedback.source": "analyst"},
                )
            ],
        ),
        _document(
            "t-rated",
            {},
            [
                _event(
                    "memo.rated",
                    **{"rating.value": 1, "rating.scale": 5, "rating.note": "numbers are off"},
                )
            ],
        ),
        _document(
            "t-reask",
            {},
            [
                _event(
                    "analyst.reask",
                    **{"reask.text": "again, with the latest data", "reask.seconds_after": 40},
                )
            ],
        ),
        _document(
            "t-reaction",
            {},
            [_event("slack.reaction_added", reaction="x", **{"reply.text": "not this"})],
        ),
        _document("t-praise", {}, [_event("slack.reaction_added", reaction="fire")]),
        _document("t-other", {}, [_event("cache.refreshed", **{"cache.entries": 3})]),
    ]
    path = tmp_path / "spans.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")

    ingest_paths(store, [path])
    detect_failures(store, SignalsConfig())

    (thumb,) = store.get_trace("t-submitted").trace.feedback
    assert (thumb.kind, thumb.value) == (FeedbackKind.thumb, -1.0)
    (rating,) = store.get_trace("t-rated").trace.feedback
    assert (rating.kind, rating.value, rating.scale, rating.comment) == (
        FeedbackKind.rating,
        1,
        5,
        "numbers are off",
    )
    (reask,) = store.get_trace("t-reask").trace.feedback
    assert (reask.kind, reask.comment) == (FeedbackKind.implicit, "again, with the latest data")
    (reaction,) = store.get_trace("t-reaction").trace.feedback
    assert reaction.kind is FeedbackKind.thumb
    failing = {
        t: store.get_trace(t).failing
        for t in ("t-submitted", "t-rated", "t-reask", "t-reaction", "t-praise", "t-other")
    }
    assert failing == {
        "t-submitted": True,
        "t-rated": True,
        "t-reask": True,
        "t-reaction": True,
        "t-praise": False,
        "t-other": False,
    }
    assert store.get_trace("t-other").trace.feedback == []
