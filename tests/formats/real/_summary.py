"""What a user checks after ingesting a real export, as plain data to compare."""

from __future__ import annotations

from typing import Any

from flywheel.store import Store


def summarise(store: Store) -> dict[str, dict[str, Any]]:
    """Per stored trace: steps (kind and parent's index), models, tokens, errors, feedback,
    scores and whether it is flagged failing."""
    result: dict[str, dict[str, Any]] = {}
    for row in store.list_traces(limit=10_000):
        stored = store.get_trace(row.trace_id, row.source)
        trace = stored.trace
        index = {step.id: i for i, step in enumerate(trace.steps)}
        result[trace.trace_id] = {
            # "llm<1": an llm step whose parent is step 1; "chain": a root; "tool<?": an orphan.
            "steps": " ".join(
                step.type.value
                + ("" if not step.parent_id else f"<{index.get(step.parent_id, '?')}")
                for step in trace.steps
            ),
            "models": sorted({step.model for step in trace.steps if step.model}),
            "tokens": sum((step.usage or {}).get("total_tokens", 0) for step in trace.steps),
            "errors": len(trace.errors),
            "feedback": [(fb.kind.value, fb.value, fb.source.value) for fb in trace.feedback],
            "scores": sorted((s.name, s.value) for s in trace.scores),
            "failing": bool(stored.failing),
            "answer": trace.output_text[:40],
        }
    return result
