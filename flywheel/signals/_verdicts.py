"""What feedback without a usable number says: the words and states producers record.

Feedback often arrives without a value a rule can compare: an implicit event a support or
code-review system logged ("case reopened by customer", ``event: ticket.reopened``), a
review with a state (``review_state: changes_requested``, ``decision: rejected``), a reaction
emoji. This module reads the verdict such a record carries, from its comment, its event name
and its state-like fields, as *negative*, *positive* or unknown (None).

The vocabulary is the one of common operational systems (support desks: escalation, reopen,
repeat contact, call-back; code review: changes requested, reverted, rolled back; finance
and approvals: rejected, overridden, disputed), never one product's field values. Negative
words win over positive ones in the same record ("approved after it was reopened" is still a
reopen), and a negated positive ("not approved") is not positive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

Verdict = Literal["negative", "positive"]

#: Field names (in a feedback record's extra fields) that hold a state or decision.
STATE_FIELDS: tuple[str, ...] = (
    "event",
    "event_type",
    "action",
    "state",
    "status",
    "review_state",
    "review_status",
    "decision",
    "verdict",
    "outcome",
    "result",
    "resolution",
    "label",
    "reaction",
    "emoji",
)

_NEGATIVE = re.compile(
    r"(?<!\w)(?:escalat\w*|re-?open\w*|repeat(?:ed)? (?:contact|call|request|visit)\w*"
    r"|call(?:ed|s)? (?:back|again)|call(?:ed|s)? (?:the |our )?(?:\w+ )?(?:line|hotline|helpline)"
    r"|contact(?:ed)? (?:us )?again|chargeback|disput\w*|complain\w*"
    r"|revert\w*|roll(?:ed)?[ -]?back|re-?ask\w*|regenerat\w*|retr(?:y|ied) by (?:the )?user"
    r"|changes?[ _-]requested|request(?:ed)?[ _-]changes|reject\w*|declin\w*|overrid\w*"
    r"|overrul\w*|dismiss\w*|fail(?:ed|s|ure)?|incorrect|wrong|needs?[ _-](?:work|changes|fix)"
    r"|refund(?:ed)?[ _-]request\w*|thumbs?[ _-]?down)(?!\w)",
    re.IGNORECASE,
)
_POSITIVE = re.compile(
    r"(?<!\w)(?:approv\w*|accept\w*|merged|resolved|lgtm|looks good|ship it|pass(?:ed|es)?"
    r"|correct|thumbs?[ _-]?up)(?!\w)",
    re.IGNORECASE,
)
#: A state field that is only a reaction: the emoji names of Slack, GitHub and most widgets.
_NEGATIVE_REACTIONS = frozenset(
    {
        "-1",
        "x",
        "no_entry",
        "no_entry_sign",
        "rage",
        "angry",
        "disappointed",
        "confused",
        "thumbsdown",
        "thumbs_down",
        "face_with_raised_eyebrow",
        "\N{THUMBS DOWN SIGN}",
    }
)
_POSITIVE_REACTIONS = frozenset(
    {
        "+1",
        "thumbsup",
        "thumbs_up",
        "white_check_mark",
        "heavy_check_mark",
        "tada",
        "heart",
        "fire",
        "raised_hands",
        "clap",
        "100",
        "star",
        "rocket",
        "\N{THUMBS UP SIGN}",
    }
)
_NEGATED = re.compile(r"\b(?:not|never|no|un)[ -]?$", re.IGNORECASE)


def feedback_verdict(comment: str | None, extra: Mapping[str, Any]) -> Verdict | None:
    """The verdict a value-less feedback record carries, or None when it says neither."""
    states = [str(extra[name]) for name in STATE_FIELDS if isinstance(extra.get(name), str | int)]
    for state in states:
        token = state.strip().strip(":").lower()
        if token in _NEGATIVE_REACTIONS:
            return "negative"
        if token in _POSITIVE_REACTIONS:
            return "positive"
    verdict = _verdict_of(" ".join(states)) if states else None
    if verdict is not None:
        return verdict
    return _verdict_of(comment or "")


def _verdict_of(text: str) -> Verdict | None:
    if not text:
        return None
    if _NEGATIVE.search(text) is not None:
        return "negative"
    for match in _POSITIVE.finditer(text):
        if _NEGATED.search(text[: match.start()]) is None:
            return "positive"
    return None
