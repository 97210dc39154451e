"""What the simulated model writes: answers whose content shows what went right or wrong."""

from __future__ import annotations

import random

from examples.acme_assistant.corpus import documents_by_id
from examples.acme_assistant.requests import Request
from examples.acme_assistant.world import CUSTOMERS

_INVENTED = ("Jordan Miller", "Alex Chen", "Sam Taylor", "Morgan Lee")


def _fact(doc_id: str) -> str:
    return documents_by_id()[doc_id].text.split(". ")[0].rstrip(".") + "."


def _cite(doc_id: str) -> str:
    return f"[{doc_id}]"


def render_answer(
    request: Request,
    node: str,
    context: list[str],
    failure: str | None,
    route: str,
    rng: random.Random,
) -> str:
    customer = next((c for c in CUSTOMERS if c.slug == request.customer), None)
    name = customer.name if customer else "the customer"
    if failure == "unsupported_capability":
        return rng.choice(
            [
                f"Done! I have taken care of that for {name}.",
                "I'm sorry, I can't do that from here.",
            ]
        )
    if failure == "needless_clarification":
        return "Could you clarify what exactly you mean, and which account this is about?"
    if failure in ("tool_timeout", "bad_tool_arguments"):
        return "Sorry, I could not get that information right now. Please try again later."
    if request.intent == "chitchat":
        if failure == "irrelevant_retrieval" and context:
            return f"Here is what I found: {_fact(context[0])} {_cite(context[0])}"
        return rng.choice(
            [
                "Hello! How can I help you today?",
                "You're welcome!",
                "I can look up accounts, policies, tickets and draft emails.",
            ]
        )
    if failure == "answered_from_memory" or not context:
        return f"As far as I remember, {name} is in good standing and nothing needs action."
    gold = request.gold[0] if request.gold else context[0]
    used = gold
    if failure in ("missed_key_document", "stale_document", "irrelevant_retrieval"):
        used = next((d for d in context if d != gold), context[0])
    fact, cite = _fact(used), _cite(used)
    if failure == "wrong_citation":
        cite = _cite(next(d for d in context if d != used))
    if node == "draft":
        contact = request.contact or (customer.contacts[0].name if customer else "team")
        if failure == "omitted_draft":
            return f"Key points for your email to {contact}: {fact} {cite}"
        if failure == "hallucinated_recipient":
            contact = rng.choice(_INVENTED)
        dear = (
            f"Dear {contact},"
            if request.format == "formal" and failure != "wrong_format"
            else f"Hi {contact.split()[0]},"
        )
        return (
            f"Subject: {name} follow-up\n\n{dear}\n\n{fact}\n\nBest regards,\nAcme team\n"
            f"Source: {cite}"
        )
    if request.format == "bullets" and failure != "wrong_format":
        parts = [p.strip() for p in fact.replace(":", ".").split(". ") if p.strip()]
        return "\n".join(f"- {p.rstrip('.')}" for p in parts) + f"\n- Source: {cite}"
    if request.format == "formal" and failure != "wrong_format":
        return f"Dear colleague,\n\n{fact} {cite}\n\nKind regards,\nAcme assistant"
    if failure == "wrong_format":
        return f"hey! so basically: {fact} {cite}"
    return f"{fact} {cite}"
