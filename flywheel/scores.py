"""What a score means: its direction and threshold per name, and a check that the data agree.

A score's name decides how it is read: the rule configured under ``[signals.scores]`` for that
exact name, else the built-in rule of a well-known evaluator name, else the configured
``default`` (higher is better, bad below 0.5). Built-in names come from the evaluators of
Langfuse (LLM-as-a-judge templates), Phoenix (``phoenix.evals``), Ragas, DeepEval and OpenAI
evals. Where those tools score a *risk* (hallucination, toxicity, bias, harm...), 1 means the
risk was found, so higher is worse; latency, cost and error counts are higher-worse with no
threshold (the anomaly detector judges those per route). Names are matched after lower-casing,
turning separators into ``_`` and dropping a tool prefix (``ragas_``, ``deepeval_``...) or a
``_score`` / ``_metric`` suffix, so ``Answer Relevancy``, ``ragas.faithfulness`` and
``HallucinationMetric`` find their rule.

`ScoreDirections` watches the scores of an ingest: when most values of a score sit on its bad
side, or traces users disliked score *better* than traces they liked, the configured direction
is probably the opposite of the producer's, and the ingest says so once per name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from flywheel.config import ScoreRule
from flywheel.trace import FeedbackKind, Trace

HIGHER_BETTER = ScoreRule(bad_below=0.5)
HIGHER_WORSE = ScoreRule(bad_above=0.5)
LOWER_BETTER = ScoreRule(better="lower")

#: Risk scores: 1 (or a high value) means the problem was found.
_RISKS = (
    "hallucination",
    "hallucinated",
    "hallucination_rate",
    "toxicity",
    "toxic",
    "harmfulness",
    "harmful",
    "harm",
    "maliciousness",
    "malicious",
    "bias",
    "biased",
    "pii",
    "pii_leakage",
    "pii_detected",
    "jailbreak",
    "prompt_injection",
    "injection",
    "misogyny",
    "criminality",
    "insensitivity",
    "controversiality",
    "non_advice",
    "role_violation",
    "illegal_activity",
    "graphic_violence",
    "personal_attack",
    "unsafe",
    "refusal",
    "off_topic",
    "error",
    "errors",
    "error_rate",
    "failure",
    "failure_rate",
    "fail_rate",
    "hallucinations",
    "contradiction",
    "user_frustration",
    "frustration",
)
#: Quantities where less is better but no fixed line makes sense (units vary by producer).
_MEASURES = (
    "latency",
    "latency_ms",
    "latency_s",
    "duration",
    "duration_ms",
    "time_to_first_token",
    "ttft",
    "cost",
    "cost_usd",
    "total_cost",
    "tokens",
    "total_tokens",
    "steps",
    "turns",
    "retries",
)
_BUILTIN: dict[str, ScoreRule] = {
    **dict.fromkeys(_RISKS, HIGHER_WORSE),
    **dict.fromkeys(_MEASURES, LOWER_BETTER),
}
_PREFIXES = (
    "ragas_",
    "deepeval_",
    "phoenix_",
    "langfuse_",
    "openai_",
    "eval_",
    "evals_",
    "llm_",
    "is_",
    "has_",
)
_SUFFIXES = ("_score", "_metric", "_eval", "_evaluator", "_judge", "_check")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=4096)
def normalise_score_name(name: str) -> str:
    """``HallucinationMetric`` -> ``hallucination``, ``ragas.answer-relevancy`` -> ..."""
    text = _SEPARATORS.sub("_", _CAMEL.sub("_", name.strip()).lower()).strip("_")
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix):
                text, changed = text[len(prefix) :], True
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)], True
    return text


def builtin_rule(name: str) -> ScoreRule | None:
    """The built-in rule of a well-known evaluator name, or None."""
    return _BUILTIN.get(normalise_score_name(name))


def score_rule(name: str, rules: Mapping[str, ScoreRule] | None = None) -> ScoreRule:
    """The rule that decides how score ``name`` is read (see the module docstring)."""
    if rules:
        rule = rules.get(name)
        if rule is not None:
            return rule
    builtin = builtin_rule(name)
    if builtin is not None:
        return builtin
    if rules and "default" in rules:
        return rules["default"]
    return HIGHER_BETTER


def score_is_bad(name: str, value: float, rules: Mapping[str, ScoreRule] | None = None) -> bool:
    """Whether a score says the trace went wrong, read in its own direction."""
    return score_rule(name, rules).is_bad(value)


def score_goodness(name: str, value: float, rules: Mapping[str, ScoreRule] | None = None) -> float:
    """The score on one 0..1 scale where 1 is good, for ranking scores of different names.

    Higher-better scores are clamped to [0, 1]; higher-worse scores in [0, 1] are flipped; a
    higher-worse score outside [0, 1] counts 0 when bad, else 1.
    """
    rule = score_rule(name, rules)
    if rule.higher_is_better:
        return min(1.0, max(0.0, value))
    if 0.0 <= value <= 1.0:
        return 1.0 - value
    return 0.0 if rule.is_bad(value) else 1.0


#: Fewer values than this say nothing about a score's direction.
MIN_VALUES = 20
#: A score whose values are mostly on the bad side probably has the other direction.
BAD_SHARE = 0.5
#: Traces with feedback of each polarity needed before feedback is compared to a score.
MIN_FEEDBACK = 5


@dataclass
class _Tally:
    values: int = 0
    bad: int = 0
    liked: list[float] = field(default_factory=list)
    disliked: list[float] = field(default_factory=list)


#: A trace's scores (name, value) and whether its user liked it (+1), disliked it (-1) or
#: neither (0): what `ScoreDirections` counts of it.
ScoredValues = tuple[tuple[tuple[str, float], ...], int]


def scored_values(trace: Trace) -> ScoredValues:
    return tuple((s.name, s.value) for s in trace.scores), _user_polarity(trace)


@dataclass
class ScoreDirections:
    """Counts of each score's values against its rule, over the traces of one ingest."""

    rules: Mapping[str, ScoreRule] | None = None
    tallies: dict[str, _Tally] = field(default_factory=dict)

    def add(self, trace: Trace) -> None:
        if trace.scores:
            self.add_values(scored_values(trace))

    def add_values(self, values: ScoredValues) -> None:
        """`add` for a trace's `scored_values` (taken where the trace was)."""
        scores, polarity = values
        for name, value in scores:
            tally = self.tallies.get(name)
            if tally is None:
                tally = self.tallies[name] = _Tally()
            tally.values += 1
            tally.bad += score_rule(name, self.rules).is_bad(value)
            if polarity > 0 and len(tally.liked) < 10_000:
                tally.liked.append(value)
            elif polarity < 0 and len(tally.disliked) < 10_000:
                tally.disliked.append(value)

    def merge(self, other: ScoreDirections) -> None:
        for name, theirs in other.tallies.items():
            mine = self.tallies.setdefault(name, _Tally())
            mine.values += theirs.values
            mine.bad += theirs.bad
            mine.liked.extend(theirs.liked)
            mine.disliked.extend(theirs.disliked)

    def warnings(self) -> list[str]:
        """One line per score whose values contradict its configured direction."""
        lines: list[str] = []
        for name in sorted(self.tallies):
            tally = self.tallies[name]
            rule = score_rule(name, self.rules)
            other = _opposite(rule)
            how = f"set [signals.scores] {_toml_key(name)} = {{{other}}} if that is so"
            if len(tally.liked) >= MIN_FEEDBACK and len(tally.disliked) >= MIN_FEEDBACK:
                liked = sum(tally.liked) / len(tally.liked)
                disliked = sum(tally.disliked) / len(tally.disliked)
                better_when_disliked = (
                    disliked > liked if rule.higher_is_better else disliked < liked
                )
                if better_when_disliked and abs(disliked - liked) >= 0.1 * max(abs(liked), 1e-9):
                    lines.append(
                        f"score '{name}' is read as {_direction(rule)}, but traces users "
                        f"disliked average {disliked:.3g} against {liked:.3g} for traces they "
                        f"liked: {_direction(rule, opposite=True)} looks likely; {how}"
                    )
                    continue
            if tally.values >= MIN_VALUES and rule.threshold is not None:
                share = tally.bad / tally.values
                if share > BAD_SHARE:
                    lines.append(
                        f"score '{name}' ({_direction(rule)}, {rule.describe()}) flags "
                        f"{tally.bad:,} of its {tally.values:,} values ({share:.0%}): "
                        f"{_direction(rule, opposite=True)} may be meant; {how}"
                    )
        return lines


def _user_polarity(trace: Trace) -> int:
    """+1 when the trace's feedback is positive, -1 when negative, 0 when none or mixed."""
    polarity = 0
    for fb in trace.feedback:
        if fb.value is None:
            continue
        if fb.kind is FeedbackKind.thumb:
            vote = 1 if fb.value > 0 else -1 if fb.value < 0 else 0
        elif fb.kind is FeedbackKind.rating:
            scale = fb.scale or (5.0 if fb.value > 1 else 1.0)
            fraction = fb.value / scale
            vote = 1 if fraction >= 0.8 else -1 if fraction <= 0.4 else 0
        else:
            continue
        if vote and polarity and vote != polarity:
            return 0
        polarity = vote or polarity
    return polarity


def _direction(rule: ScoreRule, *, opposite: bool = False) -> str:
    better = rule.higher_is_better != opposite
    return "higher is better" if better else "higher is worse"


def _opposite(rule: ScoreRule) -> str:
    threshold = rule.threshold
    if threshold is None:
        return f'better = "{"lower" if rule.higher_is_better else "higher"}"'
    key = "bad_above" if rule.higher_is_better else "bad_below"
    return f"{key} = {threshold:g}"


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'
