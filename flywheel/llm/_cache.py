"""The response cache: a reply per (model, messages, parameters, repeat index).

The key is a sha256 of canonical JSON, so a replay that asks the same question with the same
repeat index gets the same reply without a request. Only successful replies are kept (a
structured call that stays malformed after its repair turn forgets its replies, so asking
again reaches the model); API keys, headers and ``api_base`` are never part of the key or the
stored row.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from pydantic import BaseModel

from flywheel.llm._db import Database


class CachedReply(BaseModel):
    content: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


def cache_key(
    model: str, messages: list[dict[str, Any]], params: dict[str, Any], repeat: int
) -> str:
    payload = {"model": model, "messages": messages, "params": params, "repeat": repeat}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> CachedReply | None:
        with self._db.cursor() as cur:
            row = cur.execute(
                "SELECT content, prompt_tokens, completion_tokens, cost_usd"
                " FROM responses WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return CachedReply(
            content=row[0], prompt_tokens=row[1], completion_tokens=row[2], cost_usd=row[3]
        )

    def forget(self, key: str) -> None:
        with self._db.cursor() as cur:
            cur.execute("DELETE FROM responses WHERE key = ?", (key,))

    def put(self, key: str, model: str, reply: CachedReply) -> None:
        with self._db.cursor() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO responses"
                " (key, model, content, prompt_tokens, completion_tokens, cost_usd, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    model,
                    reply.content,
                    reply.prompt_tokens,
                    reply.completion_tokens,
                    reply.cost_usd,
                    time.time(),
                ),
            )
