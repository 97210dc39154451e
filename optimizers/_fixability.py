"""Which root causes configuration can fix, with which kind of fix, and who owns the rest.

Defaults follow the DESIGN taxonomy; triage's own taxonomy, when it says otherwise, wins
(`ClusterInput.fixable`, ``fix_type`` and ``owner`` are taken from it).
"""

from __future__ import annotations

#: root cause -> the fix type tried first.
FIX_TYPE_BY_CAUSE: dict[str, str] = {
    "prompt_instruction": "prompt_instruction",
    "routing_decision": "routing",
    "tool_arguments": "tool_description",
}

OWNER_BY_CAUSE: dict[str, str] = {
    "prompt_instruction": "prompt",
    "routing_decision": "routing",
    "retrieval_ranking": "retrieval",
    "context_construction": "context",
    "tool_arguments": "tools",
    "missing_capability": "product",
    "model_limitation": "model",
    "memory_multiturn": "memory",
    "data_freshness": "data",
    "latency_infra": "infra",
    "evaluation_scorer": "eval",
}


def is_config_fixable(root_cause: str) -> bool:
    return root_cause in FIX_TYPE_BY_CAUSE


def owner_of(root_cause: str) -> str:
    return OWNER_BY_CAUSE.get(root_cause, "unassigned")
