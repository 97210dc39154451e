"""Few-shot mining: successful traces most like the failing cluster become worked examples.

Healthy neighbours are ranked by TF-IDF similarity of their request to the cluster's failing
requests, weighted by how good they were (positive feedback, judge scores); duplicates and
requests the examples already cover are dropped, personal data is scrubbed, and examples are
added until a token budget is spent.

An example is shown to the model without the documents its trace retrieved, so a response
naming people its request does not name (a draft greeting someone the user never mentioned)
would demonstrate the very invention a cluster may be about: such examples come last, after
every self-contained one, and never make up more than half of a proposal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flywheel.scores import score_goodness
from flywheel.trace import Trace
from optimizers._evidence import (
    approx_tokens,
    normalise,
    request_of,
    scrub_pii,
    similarity_matrix,
    ungrounded_names,
)
from optimizers._files import FROM_TRACE, dump_yaml, load_yaml_mapping
from optimizers._sanitise import TracedText, is_instruction_like, neutralise
from optimizers._task import OptimizationTask, Proposal

_FIXES = frozenset({"prompt_instruction"})


def _quality(trace: Trace) -> float:
    """0..1: how much the trace looks like a success worth imitating."""
    scores = [score_goodness(score.name, score.value) for score in trace.scores]
    base = float(np.mean(scores)) if scores else 0.5
    thumbs = [fb.value for fb in trace.feedback if fb.value is not None and fb.kind == "thumb"]
    if any(v > 0 for v in thumbs):
        base = max(base, 0.9)
    return base


def _example_keys(examples: list[Any]) -> tuple[str, str]:
    for example in examples:
        if isinstance(example, dict):
            keys = list(example)
            for pair in (("request", "response"), ("input", "output"), ("user", "assistant")):
                if set(pair) <= set(keys):
                    return pair
    return ("request", "response")


def _ids(text: str) -> list[str]:
    return list(text.trace_ids) if isinstance(text, TracedText) else []


class FewShotMining:
    name = "fewshot"

    def __init__(self, token_budget: int = 360, sizes: tuple[int, ...] = (1, 2)) -> None:
        self.token_budget = token_budget
        self.sizes = sizes

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        if task.root_cause not in _FIXES and task.fix_type != "few_shot":
            return []
        if not task.failing or not task.neighbours:
            return []
        name, data = self._target(task.config_files)
        examples = data.get("examples")
        examples = examples if isinstance(examples, list) else []
        req_key, resp_key = _example_keys(examples)
        known = {normalise(str(e.get(req_key, ""))) for e in examples if isinstance(e, dict)}
        ranked = self._rank(task)
        grounded: list[tuple[str, str, float]] = []
        invented: list[tuple[str, str, float]] = []
        for trace, score in ranked:
            raw_request, raw_response = request_of(trace), trace.output_text.strip()
            if is_instruction_like(raw_request) or is_instruction_like(raw_response):
                continue  # text addressed to the model is no worked example (an injection)
            request = neutralise(scrub_pii(raw_request))
            response = neutralise(scrub_pii(raw_response))
            key = normalise(request)
            if not request or not response or key in known:
                continue
            known.add(key)
            bucket = invented if ungrounded_names(request, response) else grounded
            bucket.append((TracedText(request, [trace.trace_id]), response, score))
        picked = grounded + invented[: len(grounded)]
        proposals: list[Proposal] = []
        for size in self.sizes:
            chosen: list[tuple[str, str, float]] = []
            spent = 0
            for request, response, score in picked:
                cost = approx_tokens(request) + approx_tokens(response)
                if len(chosen) >= size or spent + cost > self.token_budget:
                    continue
                chosen.append((request, response, score))
                spent += cost
            if not chosen or (proposals and len(chosen) == len(proposals[-1].detail["requests"])):
                continue
            new = [{req_key: r, resp_key: s, FROM_TRACE: _ids(r)} for r, s, _ in chosen]
            updated = {**data, "examples": [*examples, *new]}
            proposals.append(
                Proposal(
                    edits={name: dump_yaml(task.config_files.get(name, ""), updated)},
                    rationale=(
                        f"add {len(chosen)} worked example(s) (~{spent} tokens) from successful "
                        f"traces most similar to the {len(task.failing)} failing traces of "
                        f"{task.cluster_id} (similarity {chosen[0][2]:.2f}–{chosen[-1][2]:.2f})"
                    ),
                    detail={
                        "requests": [str(r) for r, _, _ in chosen],
                        "trace_ids": [i for r, _, _ in chosen for i in _ids(r)],
                        "tokens": spent,
                    },
                )
            )
            if len(proposals) >= limit:
                break
        return proposals

    def _target(self, files: dict[str, str]) -> tuple[str, dict[str, Any]]:
        for name in sorted(files):
            if name.startswith("fewshot/") and name.endswith((".yaml", ".yml")):
                return name, load_yaml_mapping(name, files[name])
        return "fewshot/examples.yaml", {"examples": []}

    def _rank(self, task: OptimizationTask) -> list[tuple[Trace, float]]:
        failing = [request_of(t) for t in task.failing]
        healthy = [request_of(t) for t in task.neighbours]
        sims = similarity_matrix(healthy, failing)
        top = np.sort(sims, axis=1)[:, -min(5, sims.shape[1]) :].mean(axis=1)
        scored = [
            (trace, float(top[i]) * (0.5 + 0.5 * _quality(trace)))
            for i, trace in enumerate(task.neighbours)
        ]
        return sorted(scored, key=lambda item: (-item[1], item[0].trace_id))
