"""GEPA (reflective prompt evolution) as a strategy.

GEPA evolves the text of the cluster's prompt files: it scores a configuration on the
*optimisation* traces of the cluster (never the validation part: the task holds no other),
proposes new texts from what went wrong, keeps a proposal only when it scores better on a
minibatch, and returns the Pareto-best texts it found. Two things are injected, so this module
imports neither replay nor a vendor SDK:

- an `Evaluator` (``evaluate(candidate_files, traces) -> scores``, higher is better, one score
  in [0, 1] per trace), e.g. the replay harness (``[optimize] gepa_evaluator = "replay"``);
- the proposer. With a model for the ``optimizer`` stage it is GEPA's own reflection, the LM
  being the LLM access layer's client (`flywheel.llm.LLMClient`), so its calls are cached,
  budgeted and written to the ledger. Without one, GEPA's search drives the deterministic
  instruction-rules library (`custom_candidate_proposer`): each mutation adds the rule sentence
  best supported by the minibatch's failures, and only the wordings the evaluator confirms
  survive, stacked when a cluster mixes behaviours. ``proposer="llm"`` refuses to run offline.

Instances must be picklable to run in worker processes: pass an `LLMConfig` (and a cache path)
rather than a client there; a client works with an in-process executor.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from flywheel.errors import UserError
from flywheel.llm import LLMClient, LLMConfig
from flywheel.trace import Trace
from optimizers._evaluators import Evaluator
from optimizers._evidence import complaints, request_of
from optimizers._files import contains_sentence, insert_instruction
from optimizers._protocol import NothingToPropose
from optimizers._task import OptimizationTask, Proposal
from optimizers.strategies._wording import fill_wording
from optimizers.strategies.instruction_rules import RULES, rule_evidence

STAGE = "optimizer"
Proposer = Literal["auto", "llm", "rules"]


def gepa_available() -> bool:
    return importlib.util.find_spec("gepa") is not None


def _sample(traces: Sequence[Trace], limit: int) -> list[Trace]:
    """At most ``limit`` traces, chosen by a hash of their ids (stable, order-independent)."""

    def key(trace: Trace) -> str:
        return hashlib.blake2b(trace.trace_id.encode(), digest_size=8).hexdigest()

    return sorted(traces, key=key)[:limit]


class _Adapter:
    """GEPA's adapter: a data instance is a trace, a candidate the evolved prompt files."""

    propose_new_texts = None

    def __init__(self, task: OptimizationTask, evaluator: Evaluator) -> None:
        self.task = task
        self.evaluator = evaluator
        #: The traces the last reflective minibatch still failed (the offline proposer's cue).
        self.last_failing: list[Trace] = []

    def evaluate(
        self, batch: list[Trace], candidate: dict[str, str], capture_traces: bool = False
    ) -> Any:
        from gepa.core.adapter import EvaluationBatch

        files = {**self.task.config_files, **candidate}
        scores = [float(s) for s in self.evaluator.evaluate(files, batch)]
        if len(scores) != len(batch):
            raise ValueError(f"the evaluator returned {len(scores)} scores for {len(batch)} traces")
        trajectories = (
            [{"trace": trace, "score": score} for trace, score in zip(batch, scores, strict=True)]
            if capture_traces
            else None
        )
        return EvaluationBatch(outputs=scores, scores=scores, trajectories=trajectories)

    def make_reflective_dataset(
        self, candidate: dict[str, str], eval_batch: Any, components_to_update: list[str]
    ) -> Mapping[str, Sequence[Mapping[str, Any]]]:
        records = []
        self.last_failing = []
        for item in eval_batch.trajectories or []:
            trace: Trace = item["trace"]
            if item["score"] < 1.0:
                self.last_failing.append(trace)
            said = "; ".join(complaints(trace)) or "no comment"
            records.append(
                {
                    "Inputs": request_of(trace),
                    "Generated Outputs": trace.output_text[:1500],
                    "Feedback": (
                        f"score {item['score']:.2f} with this text (1 = fixed). In production "
                        f"this request failed ({self.task.label or self.task.root_cause}); "
                        f"the user said: {said}"
                    ),
                }
            )
        return dict.fromkeys(components_to_update, records)


class _RulesProposer:
    """GEPA's mutation step without a model: the next instruction-rule sentence to try.

    Rules are ranked by how many of the minibatch's still-failing traces show their behaviour
    going wrong, then by their evidence over the whole optimisation split; rules for the
    cluster's root cause without evidence come last, because fixing one failure often unmasks
    the next (a draft that now exists may address an invented recipient) and the detectors
    only see the production traces. A rule already instructed by the text is skipped, and each
    (text, sentence) pair is tried once, so the search walks through rules and wordings and
    stacks the ones the evaluator confirms.
    """

    def __init__(self, task: OptimizationTask, adapter: _Adapter, min_evidence: float) -> None:
        self.task = task
        self.adapter = adapter
        self.evidence = {rule.behaviour: rule_evidence(rule, task) for rule in RULES}
        self.supported = {b for b, score in self.evidence.items() if score >= min_evidence}
        self.rules = [rule for rule in RULES if task.root_cause in rule.root_causes]
        self.wordings = {
            rule.behaviour: [fill_wording(w, task) for w in rule.wordings] for rule in self.rules
        }
        self.tried: set[tuple[str, str]] = set()

    def ranked(self) -> list[str]:
        failing = self.adapter.last_failing or list(self.task.failing)
        order = sorted(
            self.rules,
            key=lambda rule: (
                rule.behaviour not in self.supported,
                -sum(1 for trace in failing if rule.detect(trace)),
                -self.evidence[rule.behaviour],
            ),
        )
        return [rule.behaviour for rule in order]

    def __call__(
        self,
        candidate: dict[str, str],
        reflective_dataset: Mapping[str, Sequence[Mapping[str, Any]]],
        components_to_update: list[str],
    ) -> dict[str, str]:
        del reflective_dataset  # the adapter kept the traces themselves
        new_texts: dict[str, str] = {}
        for component in components_to_update:
            text = candidate[component]
            digest = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
            options = (
                sentence
                for behaviour in self.ranked()
                if not any(contains_sentence(text, s) for s in self.wordings[behaviour])
                for sentence in self.wordings[behaviour]
            )
            for sentence in options:
                if (digest, sentence) not in self.tried:
                    self.tried.add((digest, sentence))
                    new_texts[component] = insert_instruction(text, sentence)
                    break
        return new_texts


class _QuietLogger:
    """GEPA prints every iteration by default; a worker's output is its records."""

    def log(self, message: str) -> None:
        del message


class GepaStrategy:
    """GEPA's search over the prompt files, scored by an injected `Evaluator`.

    ``proposer``: ``"llm"`` reflects with the ``optimizer`` stage's model (a `UserError` when
    none is configured), ``"rules"`` mutates with the instruction-rules library, ``"auto"``
    (default) uses the model when there is one. ``max_metric_calls`` bounds the evaluator
    calls (one per trace scored); ``max_traces`` the optimisation traces GEPA works on, the
    first ``max_val_traces`` of which (by a hash of their ids) score every accepted text.
    """

    name = "gepa"

    def __init__(
        self,
        *,
        evaluator: Evaluator | None = None,
        llm: LLMClient | LLMConfig | None = None,
        llm_store: Path | None = None,
        proposer: Proposer = "auto",
        max_metric_calls: int = 100,
        max_traces: int = 24,
        max_val_traces: int = 8,
        minibatch_size: int = 3,
        min_evidence: float = 0.25,
        seed: int = 0,
    ) -> None:
        if not gepa_available():
            raise UserError(
                "the 'gepa' strategy needs the gepa package: pip install 'flywheel[gepa]' "
                "(or choose one of the offline strategies: rules, fewshot, routing, revert)"
            )
        if proposer not in ("auto", "llm", "rules"):
            raise UserError(f"unknown GEPA proposer '{proposer}'; valid: auto, llm, rules")
        self.evaluator = evaluator
        self.llm = llm
        self.llm_store = llm_store
        self.proposer = proposer
        self.max_metric_calls = max_metric_calls
        self.max_traces = max_traces
        self.max_val_traces = max_val_traces
        self.minibatch_size = minibatch_size
        self.min_evidence = min_evidence
        self.seed = seed

    def _client(self) -> tuple[LLMClient, bool]:
        if isinstance(self.llm, LLMClient):
            return self.llm, False
        return LLMClient(self.llm, store_path=self.llm_store, run_id="optimizer-gepa"), True

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        if self.evaluator is None:
            raise UserError(
                "the 'gepa' strategy needs an evaluator to score configurations on the "
                'optimisation traces: set [optimize] gepa_evaluator = "replay" (with [replay] '
                "agent) in flywheel.toml, or pass GepaStrategy(evaluator=...)"
            )
        components = {
            p: t for p, t in sorted(task.config_files.items()) if p.startswith("prompts/")
        }
        if not components:
            return []
        client, own = self._client()
        try:
            use_llm = client.is_configured(STAGE)
            if self.proposer == "llm" and not use_llm:
                raise UserError(
                    "the 'gepa' strategy with proposer='llm' needs a reflection model: set "
                    "llm.models.optimizer in flywheel.toml (any litellm model string), or use "
                    "proposer='rules' (offline)"
                )
            use_llm = use_llm and self.proposer != "rules"
            spent_before = client.usage().total.cost_usd
            result = self._search(task, components, self.evaluator, client if use_llm else None)
            cost = max(0.0, client.usage().total.cost_usd - spent_before)
        finally:
            if own:
                client.close()
        return self._proposals(task, components, result, cost, limit, use_llm)

    def _search(
        self,
        task: OptimizationTask,
        components: dict[str, str],
        evaluator: Evaluator,
        client: LLMClient | None,
    ) -> Any:
        from gepa.api import optimize

        traces = _sample(task.failing, self.max_traces)
        # A small Pareto set leaves the budget to minibatch search (each accepted text is
        # scored on the whole of it).
        valset = traces[: self.max_val_traces]
        adapter = _Adapter(task, evaluator)
        reflection: dict[str, Any]
        if client is not None:

            def reflect(prompt: str | list[dict[str, Any]]) -> str:
                messages = (
                    [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
                )
                return client.complete(STAGE, messages).content

            reflection = {"reflection_lm": reflect}
        else:
            proposer = _RulesProposer(task, adapter, self.min_evidence)
            if not proposer.supported & set(proposer.wordings):
                raise NothingToPropose(
                    "no model for the optimizer stage and no instruction rule matches the "
                    f"evidence of {task.cluster_id} (set llm.models.optimizer to let GEPA "
                    "reflect)"
                )
            reflection = {"custom_candidate_proposer": proposer}
        return optimize(
            seed_candidate=dict(components),
            trainset=traces,
            valset=valset,
            adapter=adapter,  # type: ignore[arg-type]
            reflection_minibatch_size=min(self.minibatch_size, len(traces)),
            max_metric_calls=self.max_metric_calls,
            seed=self.seed,
            display_progress_bar=False,
            logger=_QuietLogger(),
            raise_on_exception=True,
            **reflection,
        )

    def _proposals(
        self,
        task: OptimizationTask,
        seed: dict[str, str],
        result: Any,
        cost: float,
        limit: int,
        use_llm: bool,
    ) -> list[Proposal]:
        scores = list(result.val_aggregate_scores)
        order = sorted(range(len(result.candidates)), key=lambda i: (-scores[i], i))
        how = "reflection by the optimizer model" if use_llm else "offline, instruction rules"
        proposals: list[Proposal] = []
        for index in order:
            candidate = result.candidates[index]
            edits = {p: t for p, t in candidate.items() if t != seed.get(p)}
            if not edits or scores[index] <= scores[0]:
                continue  # unchanged, or no better than the current configuration
            proposals.append(
                Proposal(
                    edits=edits,
                    rationale=(
                        f"GEPA ({how}) evolved {', '.join(sorted(edits))} on "
                        f"{min(len(task.failing), self.max_traces)} optimisation traces of "
                        f"{task.cluster_id}: mean score {scores[0]:.2f} -> {scores[index]:.2f} "
                        f"on {min(len(task.failing), self.max_val_traces)} of them"
                    ),
                    cost_usd=cost if not proposals else 0.0,
                    detail={
                        "score": scores[index],
                        "baseline_score": scores[0],
                        "proposer": "llm" if use_llm else "rules",
                    },
                )
            )
            if len(proposals) >= limit:
                break
        if not proposals:
            raise NothingToPropose(
                f"GEPA ({how}) found no text scoring above the current configuration "
                f"({scores[0]:.2f}) within {self.max_metric_calls} evaluations"
            )
        return proposals
