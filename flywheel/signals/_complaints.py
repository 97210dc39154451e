"""Is a written comment a complaint? English phrase patterns with negation handling.

Deliberately a transparent rule set, not a sentiment model: every hit names the phrase that
fired, so a reviewer can see why a comment counted. A pattern is ignored when a negator
("not", "no", "nothing", "never", "n't"...) stands among the three words before it in the same
clause, so "nothing wrong here" and "it was not useless" are not complaints, while patterns
that carry their own negation ("doesn't work", "not what I asked") still fire.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

#: Built-in complaint patterns (regular expressions, matched case-insensitively).
BUILTIN_PATTERNS: tuple[str, ...] = (
    r"wrong",
    r"incorrect",
    r"inaccurate",
    r"not (?:what|the (?:one|thing)) i (?:asked|wanted|meant|needed|requested)",
    r"(?:does ?n[o']t|did ?n[o']t|do ?n[o']t|is ?n[o']t|was ?n[o']t|not) work(?:ing|s|ed)?",
    r"broken",
    r"useless",
    r"unhelpful",
    r"not (?:helpful|useful|relevant|correct|right|accurate)",
    r"(?:did ?n[o']t|does ?n[o']t) (?:help|answer|understand|listen)",
    r"hallucinat\w*",
    r"made (?:it|that|this|things|stuff) up",
    r"mak(?:es|ing) (?:things|stuff) up",
    r"missing",
    r"missed",
    r"forgot",
    r"ignor(?:ed|es|ing)",
    r"irrelevant",
    r"nonsense",
    r"(?:terrible|awful|horrible|bad|poor) (?:answer|response|reply|result|job|summary)",
    r"outdated",
    r"out of date",
    r"stale",
    r"too slow",
    r"took forever",
    r"waste of (?:my )?time",
    r"frustrat\w*",
    r"confus(?:ing|ed)",
    r"still (?:waiting|no(?:t|thing)?)",
    r"never (?:answered|responded|replied|got)",
)

_NEGATORS = frozenset(
    {"not", "no", "nothing", "never", "none", "hardly", "without", "nor", "neither"}
)
_CLAUSE_BREAK = re.compile(r"[.,;:!?\n]|\bbut\b|\bhowever\b|\bthough\b", re.IGNORECASE)
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class ComplaintMatcher:
    """Compiled complaint patterns (built-ins plus a project's own phrases)."""

    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def build(cls, extra_phrases: Iterable[str] = ()) -> ComplaintMatcher:
        """Built-in patterns plus ``extra_phrases`` (literal text, matched as whole words)."""
        sources: list[str] = list(BUILTIN_PATTERNS)
        for phrase in extra_phrases:
            words = phrase.strip()
            if words:
                sources.append(re.escape(words))
        return cls(tuple(re.compile(rf"(?<!\w){src}(?!\w)", re.IGNORECASE) for src in sources))

    def find(self, text: str) -> list[str]:
        """The complaint phrases in ``text`` that are not negated, in order of appearance."""
        hits: list[tuple[int, str]] = []
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                if not _negated(text, match.start()):
                    hits.append((match.start(), match.group(0)))
                    break
        return [phrase for _, phrase in sorted(hits)]


def _negated(text: str, start: int) -> bool:
    before = text[:start]
    clause = _CLAUSE_BREAK.split(before)[-1]
    words = [w.lower() for w in _WORD.findall(clause)][-3:]
    return any(w in _NEGATORS or w.endswith("n't") for w in words)


@lru_cache(maxsize=16)
def matcher_for(extra_phrases: tuple[str, ...]) -> ComplaintMatcher:
    """The matcher for a configuration's extra phrases, compiled once."""
    return ComplaintMatcher.build(extra_phrases)
