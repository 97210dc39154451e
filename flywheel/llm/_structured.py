"""Structured output: ask for JSON matching a pydantic schema, parse it, word one repair turn."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class InvalidReply(ValueError):
    """The reply is not a JSON object valid for the schema; ``str()`` says why, briefly."""


def with_schema_instruction(
    messages: list[dict[str, Any]], schema: type[BaseModel]
) -> list[dict[str, Any]]:
    """``messages`` with an instruction to answer in JSON for ``schema`` in the system turn."""
    instruction = (
        "Reply with one JSON object and nothing else (no prose, no code fence). "
        "It must validate against this JSON Schema:\n"
        + json.dumps(schema.model_json_schema(), sort_keys=True)
    )
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
        out[0]["content"] = f"{out[0]['content']}\n\n{instruction}"
    else:
        out.insert(0, {"role": "system", "content": instruction})
    return out


def parse(content: str, schema: type[T]) -> T:
    """The reply as a ``schema`` instance; a fenced ```json block is accepted."""
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content.strip()
    try:
        return schema.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise InvalidReply(problems) from None


def repair_messages(
    messages: list[dict[str, Any]], bad_reply: str, error: InvalidReply
) -> list[dict[str, Any]]:
    """The conversation plus the bad reply and a turn naming what was wrong with it."""
    return [
        *messages,
        {"role": "assistant", "content": bad_reply},
        {
            "role": "user",
            "content": (
                f"Your reply could not be used: {error}. "
                "Reply again with only the corrected JSON object that validates against the "
                "schema."
            ),
        },
    ]
