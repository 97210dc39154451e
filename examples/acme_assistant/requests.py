"""What users ask: intents, request templates, and `understand` (text -> ground truth).

The generator renders requests from templates; the agent recovers the request's meaning with
`understand`, so a replayed trace (text only) gets the same ground truth as a generated one.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from examples.acme_assistant.world import CUSTOMERS, POLICIES, SERVICES, Customer

#: Where each intent must go to succeed (unsupported asks fail whatever the route).
EXPECTED_ROUTE: dict[str, str | None] = {
    "account": "search",
    "draft": "search",
    "format": "search",
    "policy": "search",
    "tickets": "tool",
    "status": "tool",
    "chitchat": "direct",
    "unsupported": None,
}

#: Share of first turns per intent.
INTENT_MIX: dict[str, float] = {
    "account": 0.18,
    "draft": 0.12,
    "format": 0.08,
    "policy": 0.09,
    "tickets": 0.08,
    "status": 0.075,
    "chitchat": 0.355,
    "unsupported": 0.02,
}

# (topic, template, format); {C} customer, {contact}, {first}, {issue}, {topic}, {service}.
TEMPLATES: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "account": (
        ("renewal", "When does {C}'s contract renew?", None),
        ("renewal", "What discount did we agree with {C} for the renewal?", None),
        ("renewal", "What are the renewal terms for {C}?", None),
        ("renewal", "When is {C} up for contract extension, and at what price?", None),
        ("owner", "Who owns the {C} account?", None),
        ("owner", "Which product does {C} use?", None),
        ("owner", "Who is our main contact at {C}?", None),
        ("owner", "Who should I talk to at {C} about their account?", None),
        ("issue", "What has {C} been complaining about lately?", None),
        ("issue", "What problem did {first} from {C} email us about?", None),
        ("issue", "Any updates on the {C} escalation?", None),
        ("issue", "Is {C} unhappy about something?", None),
    ),
    "draft": (
        ("renewal", "Draft an email to {contact} at {C} confirming the renewal date.", None),
        ("issue", "Write a short email to {first} at {C} about the {issue}.", None),
        (
            "renewal",
            "Draft a formal email to {contact} at {C} about the renewal discount.",
            "formal",
        ),
        ("issue", "Draft a reply to {first} at {C} and tell them we are fixing the {issue}.", None),
        ("renewal", "Please draft an email to {C} about the renewal.", None),
    ),
    "format": (
        ("owner", "Summarise the {C} account as a bullet list.", "bullets"),
        ("renewal", "Give me {C}'s renewal terms in bullet points.", "bullets"),
        ("owner", "In a formal tone, summarise our relationship with {C}.", "formal"),
        ("owner", "List the key facts about the {C} account as bullets, and be brief.", "bullets"),
    ),
    "policy": (
        ("", "What is our policy on {topic}?", None),
        ("", "What does the policy say about {topic}?", None),
        ("", "Remind me of the {topic} policy.", None),
    ),
    "tickets": (
        ("", "Show me {C}'s support tickets from last week.", None),
        ("", "List the tickets {C} opened since yesterday.", None),
        ("", "Any new tickets from {C} in the past 7 days?", None),
        ("", "Show {C}'s tickets since 2026-11-01.", None),
    ),
    "status": (
        ("", "Is the {service} down?", None),
        ("", "What's the current status of the {service}?", None),
        ("", "Customers say the {service} is slow; is there an outage?", None),
        ("", "Is there an incident on the {service}?", None),
    ),
    "chitchat": (
        ("", "Hi!", None),
        ("", "Hello, how are you today?", None),
        ("", "Thanks, that was helpful!", None),
        ("", "Great, thank you!", None),
        ("", "Good morning!", None),
        ("", "Any news? How was your weekend?", None),
        ("", "Thanks for the updates, have a nice day!", None),
        ("", "What can you do?", None),
    ),
    "unsupported": (
        ("", "Issue a refund of $200 to {C}.", None),
        ("", "Book me a flight to Berlin for the {C} meeting.", None),
        ("", "Cancel {C}'s subscription today.", None),
        ("", "Update the billing address for {C} in the CRM.", None),
    ),
}

REPHRASE_PREFIXES: tuple[str, ...] = (
    "No, I meant: ",
    "That's not what I asked. ",
    "Let me rephrase: ",
)
_RELATIVE = re.compile(r"\b(last week|yesterday|past 7 days|last month)\b", re.I)


@dataclass(frozen=True)
class Request:
    """A request with its ground truth: intent, entities and the documents that answer it."""

    intent: str
    text: str
    customer: str | None = None
    contact: str | None = None
    topic: str | None = None
    format: str | None = None
    relative_date: bool = False
    gold: tuple[str, ...] = ()

    @property
    def expected_route(self) -> str | None:
        return EXPECTED_ROUTE[self.intent]


def render(intent: str, index: int, rng: random.Random) -> Request:
    """Render template ``index`` of ``intent`` with random entities."""
    _topic, template, _ = TEMPLATES[intent][index]
    customer = rng.choice(CUSTOMERS)
    contact = customer.contacts[rng.randrange(2)]
    policy = rng.choice(POLICIES)
    text = template.format(
        C=customer.name,
        contact=contact.name,
        first=contact.first,
        issue=customer.issue,
        topic=policy.topic,
        service=rng.choice(SERVICES),
    )
    return understand(text)


def sample_request(rng: random.Random, intent: str | None = None) -> Request:
    if intent is None:
        intent = rng.choices(list(INTENT_MIX), weights=list(INTENT_MIX.values()))[0]
    return render(intent, rng.randrange(len(TEMPLATES[intent])), rng)


def rephrase(request: Request, rng: random.Random) -> Request:
    """Another wording of the same request (same entities), prefixed like a frustrated user."""
    options = [t for t in TEMPLATES[request.intent] if t[0] == (request.topic or "")]
    _, template, _ = rng.choice(options or list(TEMPLATES[request.intent]))
    customer = _customer(request.customer) or CUSTOMERS[0]
    contact = next(
        (c for c in customer.contacts if c.name == request.contact), customer.contacts[0]
    )
    policy = next((p for p in POLICIES if p.slug == request.topic), POLICIES[0])
    service = next((s for s in SERVICES if request.topic == s), SERVICES[0])
    text = template.format(
        C=customer.name,
        contact=contact.name,
        first=contact.first,
        issue=customer.issue,
        topic=policy.topic,
        service=service,
    )
    return understand(rng.choice(REPHRASE_PREFIXES) + text)


def _customer(slug: str | None) -> Customer | None:
    return next((c for c in CUSTOMERS if c.slug == slug), None)


def understand(text: str) -> Request:
    """Recover intent, entities and gold documents from a request's text."""
    low = text.lower()
    customer = _find_customer(low)
    contact = None
    if customer is not None:
        for person in customer.contacts:
            if person.name.lower() in low or re.search(rf"\b{person.first.lower()}\b", low):
                contact = person.name
                break
    fmt = "bullets" if "bullet" in low else "formal" if "formal" in low else None
    slug = customer.slug if customer else None
    if re.search(r"\b(issue a refund|refund of|book me|cancel|billing address)\b", low):
        return Request("unsupported", text, slug)
    if re.search(r"\b(draft|write)\b.*\b(email|reply|message)\b", low):
        topic = _account_topic(low, customer)
        return Request("draft", text, slug, contact, topic, fmt, gold=_gold(slug, topic))
    if re.search(r"\btickets?\b", low) and customer is not None:
        return Request(
            "tickets", text, slug, relative_date=bool(_RELATIVE.search(low)), gold=(f"TK-{slug}-1",)
        )
    service = next((s for s in SERVICES if s.lower() in low), None)
    if service is not None:
        return Request(
            "status", text, topic=service, gold=(f"ST-{service.replace(' ', '-')}-current",)
        )
    policy = next((p for p in POLICIES if p.topic.lower() in low), None)
    if policy is not None:
        return Request("policy", text, topic=policy.slug, gold=(f"POL-{policy.slug}-v2",))
    if customer is not None:
        topic = _account_topic(low, customer)
        intent = "format" if fmt or re.search(r"\bsummar", low) else "account"
        return Request(intent, text, slug, contact, topic, fmt, gold=_gold(slug, topic))
    return Request("chitchat", text)


def _find_customer(low: str) -> Customer | None:
    for c in sorted(CUSTOMERS, key=lambda c: -len(c.name)):
        if re.search(rf"\b{re.escape(c.name.lower())}\b", low):
            return c
    return None


def _account_topic(low: str, customer: Customer | None) -> str:
    if re.search(r"renew|discount|contract|extension", low):
        return "renewal"
    if re.search(r"complain|problem|unhappy|escalation|fixing", low) or (
        customer is not None and customer.issue in low
    ):
        return "issue"
    return "owner"


def _gold(slug: str | None, topic: str) -> tuple[str, ...]:
    if slug is None:
        return ()
    doc = {"renewal": "renewal", "owner": "overview", "issue": None}[topic]
    return (f"AN-{slug}-{doc}",) if doc else (f"EM-{slug}-1",)
