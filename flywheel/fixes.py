"""One vocabulary of fix types: the kind of change a failure needs.

Triage names a cluster's fix type (its taxonomy lists each root cause's, first the most
likely); the optimizer strategies make the ones that are configuration changes
(`CONFIG_FIX_TYPES`); the others go to a human owner. Names an earlier version stored are
read through `canonical_fix_type`, at the storage boundary only.
"""

from __future__ import annotations

from typing import Literal, get_args

FixType = Literal[
    "prompt_edit",
    "few_shot",
    "routing_rule",
    "tool_description",
    "revert",
    "reranker",
    "reindex",
    "context_builder",
    "new_tool",
    "model_upgrade",
    "memory_store",
    "infrastructure",
    "scorer_fix",
    "investigate",
]

#: Every fix type, in the order above.
FIX_TYPES: tuple[str, ...] = get_args(FixType)

#: The fix types an optimizer strategy proposes as a change of the agent's configuration.
CONFIG_FIX_TYPES: tuple[str, ...] = (
    "prompt_edit",
    "few_shot",
    "routing_rule",
    "tool_description",
    "revert",
)

#: Names the optimizer stored before the vocabularies were one -> today's names.
LEGACY_FIX_TYPES: dict[str, str] = {
    "prompt_instruction": "prompt_edit",
    "prompt": "prompt_edit",
    "fewshot": "few_shot",
    "routing": "routing_rule",
    "tool_descriptions": "tool_description",
}


def canonical_fix_type(name: str) -> str:
    """Today's name of a stored fix type (unknown names are returned as they are)."""
    return LEGACY_FIX_TYPES.get(name, name)
