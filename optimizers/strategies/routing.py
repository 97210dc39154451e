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

The parts: `_routing_schema` (the check), `_misrouting` (which traces are misrouted and
what a rule catches), `_routing_patterns` (the text helpers); this module proposes the edits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from optimizers._evidence import (
    normalise,
    request_of,
    router_output,
)
from optimizers._files import dump_yaml, load_yaml_mapping
from optimizers._naming import ref_component
from optimizers._protocol import NothingToPropose
from optimizers._sanitise import TracedText, is_instruction_like, neutralise
from optimizers._task import OptimizationTask, Proposal
from optimizers.strategies._misrouting import Misrouted, expected_routes, rule_catches
from optimizers.strategies._routing_patterns import (
    distinctive_pattern,
    diverse_exemplars,
    generalise,
    narrow_pattern,
)
from optimizers.strategies._routing_schema import (
    ROUTING_FILE,
    RoutingSchema,
    read_routes,
    validate_routing,
)


class RoutingEdits:
    name = "routing"

    def __init__(self, min_share: float = 0.3, max_exemplars: int = 5) -> None:
        self.min_share = min_share
        self.max_exemplars = max_exemplars

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        if task.root_cause != "routing_decision" and task.fix_type != "routing_rule":
            return []
        if ROUTING_FILE not in task.config_files:
            return []
        original = task.config_files[ROUTING_FILE]
        data = load_yaml_mapping(ROUTING_FILE, original)
        routes = read_routes(data)
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
        exception = distinctive_pattern(wrong, right)
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
        narrowed = narrow_pattern(str(target.get("pattern", "")), wrong, right)
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
            text = neutralise(generalise(request), max_len=300)
            if len(text.split()) >= 3 and normalise(text) not in have:
                have.add(normalise(text))
                candidates.append(TracedText(text, [item.trace.trace_id]))
        chosen = diverse_exemplars(candidates, self.max_exemplars)
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
        pattern = distinctive_pattern(
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


__all__ = [
    "ROUTING_FILE",
    "Misrouted",
    "RoutingEdits",
    "RoutingSchema",
    "expected_routes",
    "rule_catches",
    "validate_routing",
]
