"""The GEPA strategy: reflection through flywheel.llm (loopback fake, litellm's real client) or,
offline, the instruction rules driven by GEPA's search; evaluation by an injected evaluator (the
demo agent, or replay's through the ``flywheel.evaluators`` entry point) on the optimisation
split only."""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from flywheel.errors import UserError
from flywheel.project import Project, load_project
from flywheel.store import Store
from flywheel.trace import Trace
from optimizers import (
    ClusterInput,
    ConfigWorkspace,
    Evaluator,
    GepaStrategy,
    InlineExecutor,
    OptimizerStore,
    adopt_or_init_config_repo,
    build_task,
    configured_strategy,
    evaluator_names,
    load_evaluator,
    make_split,
    optimize,
)
from tests.fakes.openai_server import FakeOpenAIServer
from tests.helpers.llm import ClientFactory

os.environ.setdefault("HF_HUB_OFFLINE", "1")
demo = importlib.import_module("examples.acme_assistant")

FIX = "When the user asks for an email draft, include the complete draft text."
REQUESTS = [
    f"Draft an email to {who} at {company} confirming the renewal date."
    for who, company in [
        ("Bill Lumbergh", "Initech"),
        ("Alice Chen", "Umbrella Health"),
        ("Peter Gibbons", "Initech"),
        ("Dana Scully", "Globex"),
    ]
]


class DemoAgentEvaluator:
    """Runs the demo agent with the candidate files: 1 when the answer holds the draft."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def evaluate(self, candidate_files: dict[str, str], traces: Sequence[Trace]) -> list[float]:
        self.seen.extend(t.trace_id for t in traces)
        with tempfile.TemporaryDirectory() as tmp:
            for path, text in candidate_files.items():
                (Path(tmp) / path).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / path).write_text(text)
            scores = []
            for trace in traces:
                inputs: dict[str, Any] = dict(trace.input) if isinstance(trace.input, dict) else {}
                # the production run's seed: the same random draws, so only the text differs
                inputs["seed"] = trace.metadata["seed"]
                replayed = demo.run({**inputs, "repeat": 0}, tmp)
                scores.append(float("subject:" in replayed.output_text.lower()))
            return scores


def _failing(n: int = 12) -> list[Trace]:
    """Draft requests the shipped configuration answers with a summary (omitted draft)."""
    found: list[Trace] = []
    for seed in range(400):
        request = REQUESTS[seed % len(REQUESTS)]
        trace = demo.run({"input": request, "seed": seed, "trace_id": f"g-{seed:03d}"})
        if "subject:" not in trace.output_text.lower():
            found.append(trace)
        if len(found) >= n:
            break
    return found


@pytest.fixture
def demo_workspace(git_project: Project, tmp_path: Path) -> ConfigWorkspace:
    config = tmp_path / "demo-config"
    shutil.copytree(demo.DEFAULT_CONFIG_DIR, config)
    return adopt_or_init_config_repo(git_project, config)


def test_gepa_reflects_through_the_llm_layer_and_scores_only_the_optimisation_split(
    store: Store,
    demo_workspace: ConfigWorkspace,
    openai_server: FakeOpenAIServer,
    llm_client: ClientFactory,
) -> None:
    original = demo_workspace.config_files()["prompts/system.md"]
    for _ in range(20):
        openai_server.reply(f"```\n{original.rstrip()}\n{FIX}\n```")
    failing = _failing()
    evaluator = DemoAgentEvaluator()
    assert isinstance(evaluator, Evaluator)
    client = llm_client()
    strategy = GepaStrategy(evaluator=evaluator, llm=client, max_metric_calls=30)
    cluster = ClusterInput(
        cluster_id="C-0001",
        label="omitted draft",
        root_cause="prompt_instruction",
        failing=failing,
    )
    result = optimize(
        store, demo_workspace, [cluster], strategies=[strategy], executor=InlineExecutor()
    )
    assert result.failures == []
    (candidate,) = result.candidates[:1]
    assert candidate.strategy == "gepa"
    assert candidate.files_changed == ["prompts/system.md"]
    assert FIX in (Path(str(candidate.worktree)) / "prompts" / "system.md").read_text()
    assert openai_server.chat_requests  # reflection went over the wire, with the evidence
    assert "Draft an email" in str(openai_server.chat_requests[0].messages)
    assert client.usage().stages["optimizer"].calls >= 1  # and into the ledger
    split = OptimizerStore(store).load_split("C-0001")
    assert split is not None
    held = set(split.validation_ids_for_replay())
    assert held
    assert evaluator.seen
    assert not held & set(evaluator.seen)


def test_offline_gepa_searches_the_instruction_rules_with_the_evaluator(
    store: Store, demo_workspace: ConfigWorkspace
) -> None:
    evaluator = DemoAgentEvaluator()
    strategy = GepaStrategy(evaluator=evaluator)  # no model for the optimizer stage: offline
    cluster = ClusterInput(
        cluster_id="C-0003",
        label="omitted draft",
        root_cause="prompt_instruction",
        failing=_failing(),
    )
    result = optimize(
        store, demo_workspace, [cluster], strategies=[strategy], executor=InlineExecutor()
    )
    assert result.failures == []
    best = result.candidates[0]
    assert best.strategy == "gepa"
    assert best.files_changed == ["prompts/system.md"]
    assert "offline, instruction rules" in best.rationale
    text = (Path(str(best.worktree)) / "prompts" / "system.md").read_text()
    original = demo_workspace.config_files()["prompts/system.md"]
    added = [line for line in text.splitlines() if line not in original.splitlines()]
    assert added  # the rule the failures point at first; others only if the evaluator agrees
    assert "draft" in added[0].lower()
    seen = set(evaluator.seen)
    # the text GEPA kept really fixes the optimisation traces it was scored on
    files = {**demo_workspace.config_files(), "prompts/system.md": text}
    assert sum(evaluator.evaluate(files, cluster.failing[:6])) >= 4
    split = OptimizerStore(store).load_split("C-0003")
    assert split is not None
    assert seen
    assert not set(split.validation_ids_for_replay()) & seen


def _task(failing: list[Trace]) -> Any:
    return build_task(
        make_split("C-0002", [t.trace_id for t in failing]),
        failing,
        root_cause="prompt_instruction",
        fix_type="prompt_edit",
        config_files={"prompts/system.md": "# Rules\n\nBe concise.\n"},
    )


def test_gepa_asked_to_reflect_without_a_model_says_how_to_configure_one(
    store: Store, demo_workspace: ConfigWorkspace
) -> None:
    strategy = GepaStrategy(evaluator=DemoAgentEvaluator(), proposer="llm")
    cluster = ClusterInput(
        cluster_id="C-0002", root_cause="prompt_instruction", failing=_failing(4)
    )
    result = optimize(
        store, demo_workspace, [cluster], strategies=[strategy], executor=InlineExecutor()
    )
    assert result.candidates == []
    assert any("llm.models.optimizer" in f.reason for f in result.failures)
    with pytest.raises(UserError, match=r"llm\.models\.optimizer"):
        strategy.propose(_task(cluster.failing), limit=1)
    with pytest.raises(UserError, match="valid: auto, llm, rules"):
        GepaStrategy(proposer="magic")  # type: ignore[arg-type]


def test_gepa_without_an_evaluator_says_how_to_configure_one() -> None:
    with pytest.raises(UserError, match=r"gepa_evaluator = \"replay\""):
        GepaStrategy().propose(_task(_failing(4)), limit=1)


def _demo_project(root: Path, *, agent: bool) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / "flywheel.toml").write_text(
        f'database_url = "sqlite:///{root}/p.db"\n'
        + ('[replay]\nagent = "python:examples.acme_assistant:run"\n' if agent else "")
    )
    return load_project(root)


def test_evaluators_are_found_by_name_through_their_entry_point(tmp_path: Path) -> None:
    assert "replay" in evaluator_names()
    project = _demo_project(tmp_path, agent=True)
    with pytest.raises(UserError, match=r"unknown evaluator 'magic'.*valid: .*replay"):
        load_evaluator("magic", project)
    with pytest.raises(UserError, match=r"\[replay\] agent"):
        load_evaluator("replay", _demo_project(tmp_path / "bare", agent=False))
    evaluator = load_evaluator("replay", project)
    assert isinstance(evaluator, Evaluator)
    failing = _failing(6)
    shipped = {
        p.relative_to(demo.DEFAULT_CONFIG_DIR).as_posix(): p.read_text()
        for p in demo.DEFAULT_CONFIG_DIR.rglob("*")
        if p.is_file()
    }
    fixed = {**shipped, "prompts/system.md": shipped["prompts/system.md"] + FIX + "\n"}
    before = evaluator.evaluate(shipped, failing)  # the production seeds: failures recur
    after = evaluator.evaluate(fixed, failing)
    assert len(before) == len(after) == 6
    assert all(0.0 <= x <= 1.0 for x in before + after)
    assert sum(after) > sum(before)
    with pytest.raises(UserError, match="leaves the configuration"):
        evaluator.evaluate({**shipped, "../escape.md": "x"}, failing[:1])


def test_the_configured_gepa_strategy_uses_the_project_evaluator(tmp_path: Path) -> None:
    strategy = configured_strategy("gepa", _demo_project(tmp_path, agent=True))
    assert isinstance(strategy, GepaStrategy)
    assert isinstance(strategy.evaluator, Evaluator)
    assert type(strategy.evaluator).__name__ == "ReplayEvaluator"
    with pytest.raises(UserError, match=r"\[replay\] agent"):
        configured_strategy("gepa", _demo_project(tmp_path / "bare", agent=False))
