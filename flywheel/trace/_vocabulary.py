"""The vocabularies producers' kind strings are read through: step types, feedback kinds and
sources, each with the synonyms agent frameworks and evaluation tools write.

A value no name or synonym maps is read as a safe default and kept next to it in a
``<field>_raw`` field (`RAW_SUFFIX`), so nothing a producer sent is lost.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class StepType(StrEnum):
    """OpenInference span kinds, lower-cased."""

    llm = "llm"
    tool = "tool"
    retriever = "retriever"
    reranker = "reranker"
    embedding = "embedding"
    chain = "chain"
    agent = "agent"
    router = "router"
    guardrail = "guardrail"
    evaluator = "evaluator"
    other = "other"

    @classmethod
    def coerce(cls, value: object) -> StepType:
        """Map a producer's kind string (any case, common synonyms) onto a step type."""
        if isinstance(value, StepType):
            return value
        if isinstance(value, str) and value in STEP_BY_NAME:  # the fast path: already canonical
            return STEP_BY_NAME[value]
        text = str(value or "").strip().lower()
        return _STEP_SYNONYMS.get(text) or STEP_BY_NAME.get(text, cls.other)


STEP_BY_NAME: dict[str, StepType] = {kind.value: kind for kind in StepType}
_STEP_SYNONYMS: dict[str, StepType] = {
    "generation": StepType.llm,
    "chat": StepType.llm,
    "prompt": StepType.llm,
    "retrieval": StepType.retriever,
    "retrieve": StepType.retriever,
    "function": StepType.tool,
    "tool_call": StepType.tool,
    "parser": StepType.chain,
    "span": StepType.chain,
    "event": StepType.other,
    "unknown": StepType.other,
    # OpenAI Agents SDK span types, agent frameworks' and evaluation tools' step names.
    "response": StepType.llm,
    "completion": StepType.llm,
    "chat_model": StepType.llm,
    "llm_call": StepType.llm,
    "model": StepType.llm,
    "handoff": StepType.router,
    "routing": StepType.router,
    "custom": StepType.other,
    "function_call": StepType.tool,
    "tool_use": StepType.tool,
    "action": StepType.tool,
    "mcp_tools": StepType.tool,
    "mcp_list_tools": StepType.tool,
    "embed": StepType.embedding,
    "rerank": StepType.reranker,
    "workflow": StepType.chain,
    "task": StepType.chain,
    "pipeline": StepType.chain,
    "eval": StepType.evaluator,
    "evaluation": StepType.evaluator,
    "guardrails": StepType.guardrail,
}

#: The field an unknown enum value is kept in, next to the known meaning it was mapped to.
RAW_SUFFIX = "_raw"


def _known(value: object, names: dict[str, Any]) -> bool:
    return isinstance(value, str) and (value in names or value.strip().lower() in names)


def step_type_is_known(value: object) -> bool:
    """Whether a producer's step kind maps onto a step type by name or a known synonym."""
    return (
        value is None
        or isinstance(value, StepType)
        or _known(value, STEP_BY_NAME)
        or _known(value, _STEP_SYNONYMS)
    )


class FeedbackKind(StrEnum):
    thumb = "thumb"
    rating = "rating"
    comment = "comment"
    correction = "correction"
    implicit = "implicit"


class FeedbackSource(StrEnum):
    user = "user"
    reviewer = "reviewer"
    system = "system"


#: Producers' feedback kinds with a clear meaning, and the value a bare one implies.
KIND_SYNONYMS: dict[str, tuple[FeedbackKind, float | None]] = {
    **dict.fromkeys(
        (
            "thumbs",
            "vote",
            "reaction",
            "emoji",
            "binary",
            "boolean",
            "helpful",
            "slack_reaction",
            "user_score",
            "user_feedback",
        ),
        (FeedbackKind.thumb, None),
    ),
    **dict.fromkeys(
        ("thumbs_up", "thumb_up", "upvote", "like", "liked", "positive"), (FeedbackKind.thumb, 1.0)
    ),
    **dict.fromkeys(
        (
            "thumbs_down",
            "thumb_down",
            "downvote",
            "dislike",
            "disliked",
            "negative",
            "flag",
            "flagged",
            "report",
        ),
        (FeedbackKind.thumb, -1.0),
    ),
    **dict.fromkeys(
        ("stars", "star", "score", "numeric", "scale", "nps", "csat", "likert", "grade"),
        (FeedbackKind.rating, None),
    ),
    **dict.fromkeys(
        ("text", "note", "free_text", "freetext", "remark", "review", "message", "annotation"),
        (FeedbackKind.comment, None),
    ),
    **dict.fromkeys(
        ("edit", "fix", "rewrite", "corrected", "expected_output", "ground_truth", "reference"),
        (FeedbackKind.correction, None),
    ),
    **dict.fromkeys(
        (
            "escalation",
            "escalated",
            "escalate",
            "reopened",
            "reopen",
            "handoff",
            "handover",
            "human_handoff",
            "abandon",
            "abandoned",
            "complaint",
            "refund",
            "regenerate",
            "regenerated",
            "retry",
            "retried",
        ),
        (FeedbackKind.implicit, -1.0),
    ),
    **dict.fromkeys(
        (
            "copy",
            "copied",
            "accepted",
            "accept",
            "resolved",
            "purchase",
            "converted",
            "shared",
            "kept",
        ),
        (FeedbackKind.implicit, 1.0),
    ),
    **dict.fromkeys(
        ("behavioral", "behavioural", "signal", "click", "event", "session"),
        (FeedbackKind.implicit, None),
    ),
}
KINDS: dict[str, FeedbackKind] = {kind.value: kind for kind in FeedbackKind}
SOURCE_SYNONYMS: dict[str, FeedbackSource] = {
    **dict.fromkeys(
        (
            "human",
            "end_user",
            "enduser",
            "customer",
            "client",
            "app",
            "ui",
            "web",
            "api",
            "ide",
            "slack",
            "slack_reaction",
            "chat",
            "widget",
            "mobile",
            "email",
            "user_feedback",
            "feedback",
            "users",
            "product",
        ),
        FeedbackSource.user,
    ),
    **dict.fromkeys(
        (
            "annotator",
            "annotation",
            "labeler",
            "labeller",
            "expert",
            "human_review",
            "human_annotation",
            "review",
            "qa",
            "admin",
            "operator",
            "support",
            "support_agent",
            "developer",
            "sme",
            "grader",
        ),
        FeedbackSource.reviewer,
    ),
    **dict.fromkeys(
        (
            "llm",
            "judge",
            "llm_judge",
            "llm_as_judge",
            "evaluator",
            "eval",
            "auto",
            "automatic",
            "automated",
            "model",
            "monitor",
            "heuristic",
            "rule",
            "metric",
            "code",
            "pipeline",
            "online_eval",
            "app_signal",
            "telemetry",
        ),
        FeedbackSource.system,
    ),
}
SOURCES: dict[str, FeedbackSource] = {source.value: source for source in FeedbackSource}


def canonical_term(value: object) -> str:
    return str(value).strip().lower().replace("-", "_").replace(" ", "_")
