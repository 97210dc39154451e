"""Routing edits: from misrouted traces and correctly routed neighbours, change routing.yaml.

For each failing trace the router's decision (its ``router`` step output ``{"route", "via",
"similarity", ...}``) is compared with the route its most similar healthy neighbours took.
Traces routed away from that route are *misrouted*; by what routed them:

- a rule (``via: rule:NAME``): narrow the rule (drop the alternatives of its pattern that
  catch misrouted requests more than correctly routed ones) or remove it;
- exemplars, the fallback or a threshold: add exemplars of the right route (proper names
  dropped, diverse), add a rule of distinctive words, or move ``threshold`` /
  ``clarify_below`` past the misrouted requests' similarities.

Every proposal is checked against the routing schema (patterns compile, routes exist,
thresholds in [0, 1]) and must change the decision for some misrouted request.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flywheel.trace import Trace
from optimizers._evidence import (
    normalise,
    request_of,
    router_output,
    scrub_pii,
    similarity_matrix,
    tokens,
)
from optimizers._files import ConfigEditError, dump_yaml, load_yaml_mapping
from optimizers._naming import ref_component
from optimizers._protocol import NothingToPropose
from optimizers._sanitise import TracedText, is_instruction_like, neutralise
from optimizers._task import OptimizationTask, Proposal

ROUTING_FILE = "routing.yaml"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = ""
    pattern: str
    route: str


class RoutingSchema(BaseModel):
    """The generic shape of a routing file: ordered regex rules, exemplars, thresholds."""

    model_config = ConfigDict(extra="allow")
    rules: list[_Rule] = Field(default_factory=list)
    exemplars: dict[str, list[str]] = Field(default_factory=dict)
    threshold: float | None = Field(default=None, ge=0, le=1)
    clarify_below: float | None = Field(default=None, ge=0, le=1)
    fallback: str | None = None


def validate_routing(data: dict[str, Any], routes: set[str]) -> RoutingSchema:
    try:
        schema = RoutingSchema.model_validate(data)
    except ValidationError as exc:
        raise ConfigEditError(
            f"{ROUTING_FILE}: {exc.errors(include_url=False)[0]['msg']}"
        ) from None
    for rule in schema.rules:
        try:
            re.compile(rule.pattern)
        except re.error as exc:
            raise ConfigEditError(
                f"{ROUTING_FILE}: rule {rule.name!r}: bad pattern: {exc}"
            ) from None
        if routes and rule.route not in routes:
            raise ConfigEditError(f"{ROUTING_FILE}: rule {rule.name!r}: unknown route {rule.route}")
    return schema


def _routes(data: dict[str, Any]) -> set[str]:
    found = {str(r.get("route")) for r in data.get("rules") or [] if isinstance(r, dict)}
    found |= {str(k) for k in (data.get("exemplars") or {})}
    if data.get("fallback"):
        found.add(str(data["fallback"]))
    return found


@dataclass(frozen=True)
class Misrouted:
    trace: Trace
    taken: str
    expected: str
    via: str
    similarity: float | None
    exemplar: str | None


def _expected(
    requests: list[str], vias: list[str], healthy: list[tuple[Trace, str, str]], k: int
) -> list[str | None]:
    """For each request, the route its most similar healthy neighbours took.

    A request a rule caught is compared with neighbours that rule did not catch: what the
    router would have done without it. ``healthy``: (trace, route, via).
    """
    if not healthy or not requests:
        return [None] * len(requests)
    sims = similarity_matrix(requests, [request_of(t) for t, _, _ in healthy])
    result: list[str | None] = []
    for i, via in enumerate(vias):
        allowed = [
            j for j in range(len(healthy)) if not via.startswith("rule:") or healthy[j][2] != via
        ]
        order = sorted(allowed, key=lambda j: (-sims[i, j], j))[:k]
        votes: dict[str, float] = defaultdict(float)
        for j in order:
            if sims[i, j] > 0:
                votes[healthy[j][1]] += float(sims[i, j])
        result.append(max(sorted(votes), key=lambda r: votes[r]) if votes else None)
    return result


def _healthy(
    task: OptimizationTask, *, drop_lucky: bool = True, k: int = 5
) -> list[tuple[Trace, str, str]]:
    """Healthy neighbours with a route: (trace, route, via).

    With ``drop_lucky``, a neighbour a rule sent where requests like it do not go (by the
    neighbours that rule did not catch) is left out: it succeeded by luck, and its vote would
    defend the over-broad rule.
    """
    out = []
    for trace in task.neighbours:
        decision = router_output(trace) or {}
        if decision.get("route"):
            out.append((trace, str(decision["route"]), str(decision.get("via", ""))))
    if not drop_lucky:
        return out
    caught = [i for i, (_, _, via) in enumerate(out) if via.startswith("rule:")]
    expected = _expected(
        [request_of(out[i][0]) for i in caught], [out[i][2] for i in caught], out, k
    )
    lucky = {i for i, e in zip(caught, expected, strict=True) if e not in (None, out[i][1])}
    return [item for i, item in enumerate(out) if i not in lucky]


def expected_routes(task: OptimizationTask, k: int = 5) -> list[Misrouted]:
    """Failing traces whose route differs from the one their similar healthy neighbours took."""
    failing: list[tuple[Trace, dict[str, Any]]] = []
    for trace in task.failing:
        decision = router_output(trace)
        if decision and decision.get("route"):
            failing.append((trace, decision))
    expected = _expected(
        [request_of(t) for t, _ in failing],
        [str(out.get("via", "")) for _, out in failing],
        _healthy(task),
        k,
    )
    result: list[Misrouted] = []
    for (trace, out), route in zip(failing, expected, strict=True):
        if route is not None and route != str(out["route"]):
            sim = out.get("similarity")
            result.append(
                Misrouted(
                    trace,
                    str(out["route"]),
                    route,
                    str(out.get("via", "")),
                    float(sim) if isinstance(sim, int | float) else None,
                    str(out["exemplar"]) if out.get("exemplar") else None,
                )
            )
    return result


def rule_catches(task: OptimizationTask, rule_name: str, k: int = 5) -> tuple[list[str], list[str]]:
    """Healthy requests a rule caught: (rightly caught, lucky) by their own neighbours' routes.

    A healthy request the rule sent where requests like it do not go succeeded by luck; it
    is evidence against the rule, not for it.
    """
    healthy = _healthy(task, drop_lucky=False)
    via = f"rule:{rule_name}"
    caught = [(t, route) for t, route, v in healthy if v == via]
    expected = _expected([request_of(t) for t, _ in caught], [via] * len(caught), healthy, k)
    right = [request_of(t) for (t, r), e in zip(caught, expected, strict=True) if e in (None, r)]
    lucky = [
        request_of(t) for (t, r), e in zip(caught, expected, strict=True) if e not in (None, r)
    ]
    return right, lucky


_PROPER = re.compile(r"(?<=\w\s)(?:[A-Z][\w&'-]*)(?:\s+[A-Z][\w&'-]*)*")


def _generalise(request: str) -> str:
    """An exemplar from a request: personal data and proper names removed."""
    text = _PROPER.sub("", scrub_pii(request))
    return " ".join(text.replace(" .", ".").split()).strip(" ,.?!").lower()


class RoutingEdits:
    name = "routing"

    def __init__(self, min_share: float = 0.3, max_exemplars: int = 5) -> None:
        self.min_share = min_share
        self.max_exemplars = max_exemplars

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        if task.root_cause != "routing_decision" and task.fix_type != "routing":
            return []
        if ROUTING_FILE not in task.config_files:
            return []
        original = task.config_files[ROUTING_FILE]
        data = load_yaml_mapping(ROUTING_FILE, original)
        routes = _routes(data)
        misrouted = expected_routes(task)
        if len(misrouted) < max(1, self.min_share * len(task.failing)):
            taken = Counter(
                f"{out.get('route')} ({str(out.get('via', '')) or '?'})"
                for out in (router_output(t) or {} for t in task.failing)
            )
            raise NothingToPropose(
                f"only {len(misrouted)} of {len(task.failing)} failing requests were routed "
                f"differently from similar healthy requests (needs {self.min_share:.0%}); "
                f"routes taken: {', '.join(f'{k} x{v}' for k, v in taken.most_common(3))}. "
                "Routing does not explain this cluster: check its triage"
            )
        scored: list[tuple[int, Proposal]] = []
        by_rule: dict[str, list[Misrouted]] = defaultdict(list)
        rest: dict[str, list[Misrouted]] = defaultdict(list)
        for item in misrouted:
            if item.via.startswith("rule:"):
                by_rule[item.via[5:]].append(item)
            else:
                rest[item.expected].append(item)
        for rule_name, items in sorted(by_rule.items()):
            scored += self._rule_fixes(task, data, rule_name, items)
        for route, items in sorted(rest.items()):
            scored += self._exemplar_fixes(task, data, route, items)
            scored += self._threshold_fixes(task, data, items)
        proposals: list[Proposal] = []
        for _, proposal in sorted(scored, key=lambda item: -item[0]):
            new_data = load_yaml_mapping(ROUTING_FILE, proposal.edits[ROUTING_FILE])
            validate_routing(new_data, routes)
            proposals.append(proposal)
            if len(proposals) >= limit:
                break
        return proposals

    def _proposal(
        self, original: str, data: dict[str, Any], rationale: str, **detail: Any
    ) -> Proposal:
        return Proposal(
            edits={ROUTING_FILE: dump_yaml(original, data)}, rationale=rationale, detail=detail
        )

    def _rule_fixes(
        self, task: OptimizationTask, data: dict[str, Any], rule_name: str, items: list[Misrouted]
    ) -> list[tuple[int, Proposal]]:
        rules = [r for r in data.get("rules") or [] if isinstance(r, dict)]
        target = next((r for r in rules if str(r.get("name")) == rule_name), None)
        if target is None:
            return []
        original = task.config_files[ROUTING_FILE]
        right, lucky = rule_catches(task, rule_name)
        wrong = [request_of(i.trace) for i in items] + lucky
        out: list[tuple[int, Proposal]] = []
        expected = Counter(i.expected for i in items).most_common(1)[0][0]
        exception = _distinctive_pattern(wrong, right)
        if exception:
            at = rules.index(target)
            rule = {
                "name": f"flywheel-{ref_component(task.cluster_id)}-not-{ref_component(rule_name)}",
                "pattern": exception,
                "route": expected,
            }
            out.append(
                (
                    len(items) + 2,
                    self._proposal(
                        original,
                        {**data, "rules": [*rules[:at], rule, *rules[at:]]},
                        f"rule '{rule_name}' sends {len(items)} requests of {task.cluster_id} to "
                        f"'{target.get('route')}' where similar healthy requests went to "
                        f"'{expected}', while {len(right)} healthy requests it catches belong "
                        f"there; route the ones matching {exception!r} to '{expected}' first",
                        action="exception_rule",
                        rule=rule_name,
                        pattern=exception,
                    ),
                )
            )
        narrowed = _narrow(str(target.get("pattern", "")), wrong, right)
        if narrowed is not None:
            new_rules = [({**r, "pattern": narrowed} if r is target else r) for r in rules]
            out.append(
                (
                    len(items) + 1,
                    self._proposal(
                        original,
                        {**data, "rules": new_rules},
                        f"rule '{rule_name}' sends {len(items)} requests of {task.cluster_id} to "
                        f"'{items[0].taken}' where similar healthy requests went to "
                        f"'{items[0].expected}'; narrow its pattern to {narrowed!r}",
                        action="narrow_rule",
                        rule=rule_name,
                    ),
                )
            )
        out.append(
            (
                # No healthy request needs the rule: removing it is the plain fix.
                len(items) + (3 if not right else 0),
                self._proposal(
                    original,
                    {**data, "rules": [r for r in rules if r is not target]},
                    f"rule '{rule_name}' is over-broad: it routed {len(items)} failing requests of "
                    f"{task.cluster_id} to '{items[0].taken}' where similar healthy requests "
                    f"went to "
                    f"'{items[0].expected}'; remove it",
                    action="remove_rule",
                    rule=rule_name,
                ),
            )
        )
        return out

    def _exemplar_fixes(
        self, task: OptimizationTask, data: dict[str, Any], route: str, items: list[Misrouted]
    ) -> list[tuple[int, Proposal]]:
        original = task.config_files[ROUTING_FILE]
        exemplars = {str(k): list(v or []) for k, v in (data.get("exemplars") or {}).items()}
        have = {normalise(e) for values in exemplars.values() for e in values}
        candidates: list[str] = []
        for item in items:
            request = request_of(item.trace)
            if is_instruction_like(request):  # an injection is no exemplar of a route
                continue
            text = neutralise(_generalise(request), max_len=300)
            if len(text.split()) >= 3 and normalise(text) not in have:
                have.add(normalise(text))
                candidates.append(TracedText(text, [item.trace.trace_id]))
        chosen = _diverse(candidates, self.max_exemplars)
        out: list[tuple[int, Proposal]] = []
        if chosen:
            new = {**exemplars, route: [*exemplars.get(route, []), *chosen]}
            out.append(
                (
                    len(items),
                    self._proposal(
                        original,
                        {**data, "exemplars": new},
                        f"{len(items)} requests of {task.cluster_id} were routed to "
                        f"'{items[0].taken}' ({items[0].via or 'no rule'}) where similar healthy "
                        f"requests went to '{route}'; add {len(chosen)} '{route}' exemplars",
                        action="add_exemplars",
                        route=route,
                        exemplars=chosen,
                    ),
                )
            )
        pattern = _distinctive_pattern(
            [request_of(i.trace) for i in items],
            [
                request_of(t)
                for t in task.neighbours
                if (router_output(t) or {}).get("route") != route
            ],
        )
        if pattern:
            rules = [r for r in data.get("rules") or [] if isinstance(r, dict)]
            rule = {
                "name": f"flywheel-{ref_component(task.cluster_id)}-{route}",
                "pattern": pattern,
                "route": route,
            }
            out.append(
                (
                    len(items) - 1,
                    self._proposal(
                        original,
                        {**data, "rules": [*rules, rule]},
                        f"{len(items)} requests of {task.cluster_id} share words that healthy "
                        f"requests "
                        f"of other routes lack; route them to '{route}' with the rule {pattern!r}",
                        action="add_rule",
                        route=route,
                        pattern=pattern,
                    ),
                )
            )
        return out

    def _threshold_fixes(
        self, task: OptimizationTask, data: dict[str, Any], items: list[Misrouted]
    ) -> list[tuple[int, Proposal]]:
        original = task.config_files[ROUTING_FILE]
        sims = [i.similarity for i in items if i.similarity is not None and i.similarity > 0]
        out: list[tuple[int, Proposal]] = []
        clarify = data.get("clarify_below")
        clarified = [i for i in items if i.taken == "clarify" and i.similarity is not None]
        if isinstance(clarify, int | float) and clarified:
            new = round(max(0.0, min(i.similarity or 0 for i in clarified) - 0.01), 3)
            if new < clarify:
                out.append(
                    (
                        len(clarified),
                        self._proposal(
                            original,
                            {**data, "clarify_below": new},
                            f"{len(clarified)} requests of {task.cluster_id} were asked to clarify "
                            f"with "
                            f"similarity >= {new}; lower clarify_below from {clarify} to {new}",
                            action="move_threshold",
                            key="clarify_below",
                        ),
                    )
                )
        threshold = data.get("threshold")
        exemplar_routes = {
            normalise(e): str(r)
            for r, vs in (data.get("exemplars") or {}).items()
            for e in vs or []
        }
        near_right = [
            i
            for i in items
            if i.exemplar
            and exemplar_routes.get(normalise(i.exemplar)) == i.expected
            and i.similarity
        ]
        if isinstance(threshold, int | float) and near_right and sims:
            new = round(
                max(0.05, float(np.quantile([i.similarity or 0 for i in near_right], 0.25)) - 0.01),
                3,
            )
            if new < threshold:
                out.append(
                    (
                        len(near_right),
                        self._proposal(
                            original,
                            {**data, "threshold": new},
                            f"{len(near_right)} requests of {task.cluster_id} were nearest to an "
                            f"exemplar of the right route but under the threshold; lower it "
                            f"from {threshold} to {new}",
                            action="move_threshold",
                            key="threshold",
                        ),
                    )
                )
        return out


def _alternatives(pattern: str) -> tuple[str, str, list[str]] | None:
    match = re.fullmatch(r"(.*?)\((\?:)?([^()]*)\)(.*)", pattern)
    if not match or "|" not in match.group(3):
        return None
    return (
        match.group(1) + "(" + (match.group(2) or ""),
        ")" + match.group(4),
        match.group(3).split("|"),
    )


def _narrow(pattern: str, wrong: list[str], right: list[str]) -> str | None:
    """The pattern without the alternatives that catch more misrouted than right requests."""
    parts = _alternatives(pattern)
    if parts is None:
        return None
    head, tail, options = parts
    keep = []
    for option in options:
        compiled = re.compile(head + option + tail, re.I)
        bad = sum(1 for text in wrong if compiled.search(text))
        good = sum(1 for text in right if compiled.search(text))
        if bad <= good:
            keep.append(option)
    if not keep or len(keep) == len(options):
        return None
    return head + "|".join(keep) + tail


def _distinctive_pattern(wrong: list[str], others: list[str], size: int = 4) -> str | None:
    """A word-alternation regex matching many misrouted and few other-route requests."""
    if not wrong:
        return None
    df_wrong = Counter(w for text in wrong for w in set(tokens(text)))
    df_other = Counter(w for text in others for w in set(tokens(text)))
    ranked = sorted(
        (w for w in df_wrong if len(w) > 3 and df_other[w] / max(1, len(others)) < 0.02),
        key=lambda w: (-df_wrong[w], w),
    )[:size]
    if not ranked:
        return None
    pattern = r"\b(" + "|".join(re.escape(w) for w in ranked) + r")\b"
    compiled = re.compile(pattern, re.I)
    coverage = sum(1 for text in wrong if compiled.search(text)) / len(wrong)
    return pattern if coverage >= 0.4 else None


def _diverse(texts: list[str], k: int) -> list[str]:
    """Greedy max-min selection: each next exemplar least like the ones chosen."""
    if len(texts) <= k:
        return texts
    sims = similarity_matrix(texts, texts)
    chosen = [int(np.argmax(sims.sum(axis=1)))]
    while len(chosen) < k:
        rest = [i for i in range(len(texts)) if i not in chosen]
        chosen.append(min(rest, key=lambda i: (max(sims[i, j] for j in chosen), i)))
    return [texts[i] for i in chosen]
