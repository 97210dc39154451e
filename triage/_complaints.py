"""What the people who saw the answer say went wrong, read as evidence for a root cause.

Users and reviewers name a cause in a few stock ways, whatever the product: "as I said
earlier" (the conversation's earlier turns), "outdated / not the latest" (stale data), "wrong
company / wrong file" (the wrong source ranked first), "you didn't look it up" (the request
skipped the research route), "it IS in the document" (the context dropped it), "the numbers
are wrong" (the model's own reasoning), "missing disclaimer / not allowed" (an instruction not
followed), "can't you / not supported" (a missing capability). Each phrase set is one fact,
weaker than a detection in the trace itself: a comment is a person's guess at the cause, a
failed step or a truncation notice is the record of it.

A phrase is ignored when a negator stands just before it ("not outdated").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: fact -> (root cause, weight, phrase pattern).
COMPLAINT_CAUSES: dict[str, tuple[str, float, re.Pattern[str]]] = {
    "said_earlier_turn_ignored": (
        "memory_multiturn",
        0.6,
        re.compile(
            r"(?i)\bi (?:already |just |had |have )?(?:said|asked|told|mentioned|specified|"
            r"explained|gave|wrote|stated|requested)\b[^.!?]{0,40}\b(?:earlier|before|above|"
            r"already|previously|last time)|\bas i (?:said|mentioned|asked|told you|explained)|"
            r"\b(?:ignored|forgot|forgotten|disregarded) (?:what|everything) i (?:said|told|asked|"
            r"wrote)|\bi (?:already|just) (?:said|told|gave|did|asked|explained)|"
            r"\brepeat(?:ing)? myself|\bwe (?:already )?agreed|\byou (?:already )?(?:promised|"
            r"agreed|said)\b"
        ),
    ),
    "said_out_of_date": (
        "data_freshness",
        0.6,
        re.compile(
            r"(?i)\b(?:outdated|out of date|out-of-date|stale|superseded|obsolete|no longer "
            r"(?:valid|true|correct|applies|current)|not (?:the )?(?:latest|current|newest|"
            r"up[- ]to[- ]date)|(?:old|last year'?s|previous) (?:data|figures?|numbers?|prices?|"
            r"version|policy|terms|rates?|quarter|text)|dated (?:sources?|info|data)|"
            r"(?:has|have) (?:since )?changed|changed (?:since|months ago|last)|"
            r"original text, not the current|(?:19|20)\d\d (?:figure|number|data|price))"
        ),
    ),
    "said_wrong_source": (
        "retrieval_ranking",
        0.6,
        re.compile(
            r"(?i)\bwrong (?:company|issuer|file|module|article|document|doc|page|product|"
            r"source|record|customer|account|entity|ticker|repo(?:sitory)?|copy|version of the "
            r"file)|\b(?:edited|changed|patched|quoted|used) the wrong\b|\bthat'?s (?:a |the )?"
            r"(?:different|another) (?:company|product|file|article|document)"
        ),
    ),
    "said_not_looked_up": (
        "routing_decision",
        0.6,
        re.compile(
            r"(?i)\b(?:did ?n[o']t|does ?n[o']t|never) (?:even |actually |bother to )?(?:look|"
            r"check|search|research|read|open|consult)\b|\bfrom memory\b|\bwithout (?:looking|"
            r"checking|searching|research)|\bnot from the (?:actual|real)|\bgeneric (?:answer|"
            r"reply|response)|\b(?:look|check) (?:it|my account|the account) up\b"
        ),
    ),
    "said_in_the_document": (
        "context_construction",
        0.6,
        re.compile(
            r"(?i)\b(?:it|this|that)(?:'s| is| IS) (?:right )?(?:in|on page \d+ of) the "
            r"(?:document|doc|transcript|file|filing|annex|appendix|attachment|report|contract|"
            r"thread|ticket)|\b(?:is|are) in the (?:annex|appendix|attachment|q&a)|"
            r"\bmissed the (?:key|important|relevant) (?:part|section|bit)|"
            r"\bdid ?n[o']t read (?:the (?:whole|full|rest)|all|past)"
        ),
    ),
    "said_reasoning_wrong": (
        "model_limitation",
        0.6,
        re.compile(
            r"(?i)\b(?:numbers?|figures?|math|maths|arithmetic|calculation|sum|total|"
            r"percentages?) (?:is |are )?(?:wrong|off|incorrect)|\bmiscalculat|\bdoes ?n[o']t "
            r"add up|\b(?:figures?|numbers?|values?) swapped|\bswapped\b|"
            r"\bdirection is wrong|\bsign is wrong"
        ),
    ),
    "said_rule_broken": (
        "prompt_instruction",
        0.6,
        re.compile(
            r"(?i)\bmissing (?:the )?(?:disclaimer|sources|citations?|signature|warning|"
            r"referral|handoff|escalation)|\b(?:we|you) (?:can'?t|cannot|must ?n[o']t|are not "
            r"allowed to|should ?n[o']t) (?:send|say|give|recommend|promise|commit|push|share)|"
            r"\bagainst (?:our |the )?(?:policy|rules|guidelines)|\bnot (?:allowed|permitted)\b|"
            r"\byou were (?:supposed|told) to\b|\bshould (?:have )?(?:always|never)\b|"
            r"\b(?:rotat(?:e|ing)|revok(?:e|ing)) (?:the |that |this )?(?:key|token|secret|"
            r"credential)"
        ),
    ),
    "said_cannot_do": (
        "missing_capability",
        0.6,
        re.compile(
            r"(?i)\b(?:can'?t|cannot|could ?n[o']t) you (?:just )?|\bnot (?:real[- ]?time|"
            r"supported|available)|\b(?:no|without) (?:access to|way to|tool (?:for|to))|"
            r"\b(?:does ?n[o']t|do ?n[o']t|can'?t) (?:support|handle|do) (?:that|this|it)\b"
        ),
    ),
}
_NEGATED = re.compile(r"(?i)\b(?:not|no|never|nothing)\s+(?:\w+\s+)?$")


def complaint_causes(comments: Iterable[str]) -> dict[str, str]:
    """fact -> the phrase that fired, for every cause the comments name."""
    found: dict[str, str] = {}
    for comment in comments:
        text = comment[:2000]
        for fact, (_cause, _weight, pattern) in COMPLAINT_CAUSES.items():
            if fact in found:
                continue
            for match in pattern.finditer(text):
                before = text[max(0, match.start() - 16) : match.start()]
                if not _NEGATED.search(before):
                    found[fact] = match.group(0)
                    break
    return found
