"""Build ``corpus.jsonl`` deterministically from the facts in world.py.

Run ``python -m examples.acme_assistant.corpus_builder`` after editing world.py; a test checks
that the committed file equals what this builder produces.

Each customer gets a key renewal note plus a stale draft of it (a near-duplicate superseded by
the key note), an overview, two emails and three tickets; policies come as a current version,
a stale version and a FAQ near-duplicate; status pages have a current page and two incidents;
look-alike accounts and generic playbook notes act as hard negatives.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from examples.acme_assistant.world import CUSTOMERS, DECOYS, POLICIES, SERVICES

CORPUS_PATH = Path(__file__).with_name("corpus.jsonl")
# Padding that makes most superseded versions rank below their replacement (BM25 favours
# short documents); the rest stay short and keyword-rich, so they outrank it.
_ARCHIVED = (
    " Archived version kept for reference only; the operations team moved the maintained"
    " copy elsewhere during the migration of the old wiki in early spring."
)


def build_corpus() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []

    def add(doc_id: str, kind: str, title: str, text: str, day: date, **extra: Any) -> None:
        docs.append(
            {"id": doc_id, "type": kind, "title": title, "text": text, "date": day.isoformat()}
            | extra
        )

    for i, c in enumerate(CUSTOMERS):
        a, b = c.contacts
        base = date(2026, 10, 1) + timedelta(days=i)
        add(
            f"AN-{c.slug}-renewal",
            "account_note",
            f"{c.name} renewal terms",
            f"Renewal terms for {c.name}: the contract is due to renew on {c.renewal.isoformat()} "
            f"(renewal date) with an agreed discount of {c.discount} percent on the renewal "
            f"price. Account owner {c.owner}. Decision maker {a.name} ({a.role}).",
            base,
            customer=c.slug,
            group=f"{c.slug}:renewal",
        )
        add(
            f"AN-{c.slug}-renewal-draft",
            "account_note",
            f"{c.name} old draft",
            f"Superseded draft for {c.name}: renews "
            f"{c.renewal.replace(year=c.renewal.year - 1).isoformat()}, proposed discount "
            f"{c.discount + 5} percent."
            + (" Renewal terms, renewal contract, renewal discount." if i % 3 == 0 else _ARCHIVED),
            base - timedelta(days=120),
            customer=c.slug,
            group=f"{c.slug}:renewal",
            superseded_by=f"AN-{c.slug}-renewal",
        )
        add(
            f"AN-{c.slug}-overview",
            "account_note",
            f"{c.name} account overview",
            f"{c.name} account overview: the customer uses the {c.product} product. The "
            f"account owner is {c.owner}. Main contacts: {a.name} ({a.role}, "
            f"{a.email(c.domain)}) and {b.name} ({b.role}, {b.email(c.domain)}).",
            base + timedelta(days=3),
            customer=c.slug,
            group=f"{c.slug}:owner",
        )
        add(
            f"AN-{c.slug}-qbr",
            "account_note",
            f"{c.name} quarterly business review",
            f"QBR with {c.name}: usage of {c.product} grew; they asked about the renewal "
            f"timeline and the roadmap. Follow up on {c.issue}.",
            base - timedelta(days=40),
            customer=c.slug,
            group=f"{c.slug}:qbr",
        )
        add(
            f"EM-{c.slug}-1",
            "email",
            f"Email from {a.name}",
            f"From: {a.email(c.domain)}. Subject: escalation, problem with {c.issue}. Hi "
            f"team, {c.name} is unhappy: we keep running into {c.issue} in {c.product}. "
            "We are complaining because this keeps happening; please treat it as an "
            f"escalation. Regards, {a.first}.",
            date(2026, 11, 3) + timedelta(days=i % 5),
            customer=c.slug,
            group=f"{c.slug}:issue",
        )
        add(
            f"EM-{c.slug}-2",
            "email",
            f"Email from {b.name}",
            f"From: {b.email(c.domain)}. Subject: thanks for the training. The onboarding "
            f"session on {c.product} was useful for the {c.name} team. {b.first}.",
            date(2026, 10, 20) + timedelta(days=i % 7),
            customer=c.slug,
            group=f"{c.slug}:misc",
        )
        for k, days_ago in enumerate((3, 9, 40)):
            add(
                f"TK-{c.slug}-{k + 1}",
                "ticket",
                f"{c.name} ticket {k + 1}",
                f"Support ticket for {c.name}: {c.issue if k != 1 else 'password reset'} "
                f"reported by {(a if k % 2 == 0 else b).name}. Status: "
                f"{'open' if k == 0 else 'closed'}.",
                date(2026, 11, 16) - timedelta(days=days_ago),
                customer=c.slug,
                group=f"{c.slug}:tickets",
            )

    for slug, name in DECOYS:
        add(
            f"AN-{slug}-renewal",
            "account_note",
            f"{name} renewal terms",
            f"Renewal terms for {name}: the contract renews on 2027-02-01 with an agreed "
            f"discount of 4 percent. This is a separate account.",
            date(2026, 9, 12),
            customer=slug,
            group=f"{slug}:renewal",
        )
        add(
            f"AN-{slug}-overview",
            "account_note",
            f"{name} account overview",
            f"{name} account overview: the account owner is Jo Lindqvist. Main contact Sam "
            f"Reyes. Not to be confused with similarly named customers.",
            date(2026, 9, 14),
            customer=slug,
            group=f"{slug}:owner",
        )
        add(
            f"EM-{slug}-1",
            "email",
            f"Email from {name}",
            f"From: sam.reyes@{slug}.com. Subject: renewal. {name} wants to discuss the "
            f"renewal contract and discount. Who owns our account?",
            date(2026, 11, 4),
            customer=slug,
            group=f"{slug}:issue",
        )

    for i, p in enumerate(POLICIES):
        add(
            f"POL-{p.slug}-v2",
            "policy",
            f"Policy: {p.topic} (2026)",
            f"Current policy on {p.topic} (our rules for {p.topic}), effective 2026-09-01, "
            f"replacing the 2025 policy: {p.current}.",
            date(2026, 9, 1),
            group=f"policy:{p.slug}",
        )
        add(
            f"POL-{p.slug}-v1",
            "policy",
            f"Policy: {p.topic} (2025)",
            f"Policy on {p.topic}: {p.stale}."
            + (f" Policy on {p.topic}, rules for {p.topic}, policy." if i % 3 == 0 else _ARCHIVED),
            date(2025, 3, 1) + timedelta(days=i),
            group=f"policy:{p.slug}",
            superseded_by=f"POL-{p.slug}-v2",
        )
        add(
            f"FAQ-{p.slug}",
            "policy",
            f"FAQ: {p.topic}",
            f"Frequently asked: who approves exceptions for {p.topic}? Ask your manager; "
            f"the details are in the policy document.",
            date(2026, 5, 1) + timedelta(days=i),
            group=f"faq:{p.slug}",
        )

    for i, svc in enumerate(SERVICES):
        slug = svc.replace(" ", "-")
        state = "degraded performance" if i in (1, 4) else "operational"
        add(
            f"ST-{slug}-current",
            "status_page",
            f"Status: {svc}",
            f"Current status of the {svc}: {state}. Last checked 2026-11-16.",
            date(2026, 11, 16),
            group=f"status:{slug}",
        )
        add(
            f"ST-{slug}-recent",
            "status_page",
            f"Incident: {svc} (November)",
            f"Resolved incident: the {svc} was down for 40 minutes; status now resolved.",
            date(2026, 11, 10) - timedelta(days=i % 4),
            group=f"status:{slug}:incident",
        )
        add(
            f"ST-{slug}-old",
            "status_page",
            f"Incident: {svc} (August)",
            f"Old incident report: {svc} outage, down for two hours, status page archived.",
            date(2026, 8, 2) + timedelta(days=i),
            group=f"status:{slug}:old",
        )

    playbook = [
        "Renewal playbook: prepare the renewal call, confirm the contract date and discount.",
        "Discount approval process: the account owner asks finance before agreeing a discount.",
        "How to write a customer email: greet the contact, state the purpose, sign off.",
        "Account ownership changes are announced in the sales channel every quarter.",
        "Template: renewal reminder email to a customer contact sixty days before renewal.",
        "Meeting notes: pipeline review covering Globex, Initech and Hooli renewals.",
        "Meeting notes: support review of open tickets for Wayne Foods and Wonka Retail.",
        "Meeting notes: the Umbrella Health and Vandelay Imports renewals are at risk.",
        "Bullet list template for account summaries: owner, product, renewal, risks.",
        "Tone guide: formal emails use the contact's full name and no emoji.",
        "Ticket triage guide: tag tickets by product and severity within one day.",
        "Status page guide: incidents are posted by the on-call engineer.",
        "Sales kickoff notes: grow discounts only for multi-year contracts.",
        "Customer complaint handling: acknowledge within 4 hours, fix within the SLA.",
        "Onboarding checklist for new customers: kickoff, training, first QBR.",
        "Weekly digest: news and updates from the customer success team.",
        "Weekly digest: product updates and news about the route API.",
        "Contact directory conventions: first.last at the customer's domain.",
        "Travel booking is handled by the travel desk, not by the assistant.",
        "Refunds are issued by finance in the billing system after approval.",
    ]
    for i, text in enumerate(playbook):
        add(
            f"KB-{i + 1:02d}",
            "note",
            text.split(":")[0],
            text,
            date(2026, 6, 1) + timedelta(days=7 * i),
            group=f"kb:{i + 1}",
        )
    return docs


def write_corpus(path: Path = CORPUS_PATH) -> int:
    docs = build_corpus()
    lines = [orjson.dumps(doc, option=orjson.OPT_SORT_KEYS) for doc in docs]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return len(docs)


if __name__ == "__main__":
    print(f"wrote {write_corpus()} documents to {CORPUS_PATH}")
