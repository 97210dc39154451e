"""The failure modes of the demo world and their root causes (DESIGN.md taxonomy)."""

from __future__ import annotations

#: failure mode -> root cause. Fixable by configuration: prompt_instruction (prompts or
#: few-shot), routing_decision (routing.yaml), tool_arguments (tools.yaml descriptions).
FAILURE_MODES: dict[str, str] = {
    "answered_from_memory": "routing_decision",
    "irrelevant_retrieval": "routing_decision",
    "needless_clarification": "routing_decision",
    "omitted_draft": "prompt_instruction",
    "hallucinated_recipient": "prompt_instruction",
    "wrong_citation": "prompt_instruction",
    "wrong_format": "prompt_instruction",
    "bad_tool_arguments": "tool_arguments",
    "missed_key_document": "retrieval_ranking",
    "stale_document": "data_freshness",
    "tool_timeout": "latency_infra",
    "unsupported_capability": "missing_capability",
    "miscalibrated_judge": "evaluation_scorer",
}

CONFIG_FIXABLE: frozenset[str] = frozenset(
    mode
    for mode, cause in FAILURE_MODES.items()
    if cause in ("routing_decision", "prompt_instruction", "tool_arguments")
)
