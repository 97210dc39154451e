"""Replayable worlds: `flywheel bench loop --world NAME` finds the demo or a package world,
checks its contract, and names what is missing in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import examples.acme_assistant.cli as acme
from flywheel.cli import app
from flywheel.errors import UserError
from flywheel.worlds import (
    DEMO_WORLD,
    ReplayableWorld,
    check_replay,
    contract_problems,
    load_world,
    replayable_names,
)
from replay._adapters import adapter_from_spec

REPO = Path(__file__).resolve().parents[2]

#: A package world (the demo's agent behind a package of its own) with a relative import.
_WRAPPER = """
from examples.acme_assistant.cli import CONFIG_FIXABLE, DEFAULT_CONFIG_DIR, FAILURE_MODES
from examples.acme_assistant.cli import generate, truth
from .agent import run

AGENT = f"python:{__name__}:run"
"""
_AGENT = "from examples.acme_assistant import run\n"


#: A whole replayable world in a page, written from REPLAYABLE.md: a request fails with
#: "careless" unless the system prompt asks for care, and with "outage" one time in ten.
_COIN = """
import hashlib, json
from pathlib import Path
from types import SimpleNamespace
from flywheel.trace import Trace

DEFAULT_CONFIG_DIR = Path(__file__).with_name("config")
AGENT = f"python:{__name__}:run"
FAILURE_MODES = {"careless": "prompt_instruction", "outage": "latency_infra"}
CONFIG_FIXABLE = ["careless"]
LIE = 0.0  # share of requests on which truth() hides a careless failure

def _draw(inputs, name):
    key = f"{inputs.get('seed', 0)}|{inputs.get('repeat', 0)}|{inputs['input']}|{name}"
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 16**8

def truth(inputs, config_dir):
    if _draw(inputs, "infra") < 0.1:
        return "outage"
    careful = "careful" in (Path(config_dir) / "prompts" / "system.md").read_text()
    lie = _draw(inputs, "lie") < LIE
    return None if careful or _draw(inputs, "care") < 0.6 or lie else "careless"

def run(inputs, config_dir):
    failure = truth(inputs, config_dir)
    return Trace.model_validate({
        "trace_id": hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16],
        "input": {"input": inputs["input"]},
        "output": {"careless": "whatever", "outage": None}.get(failure, "the answer"),
        "timestamp": inputs.get("timestamp", "2026-11-16T09:00:00+00:00"),
        "metadata": {"seed": inputs.get("seed", 0)},
        "steps": [{"id": "1", "type": "llm", "name": "answer",
                    "error": "upstream 503" if failure == "outage" else None}],
    })

def generate(n, seed, config_dir, out, start=None):
    config_dir = config_dir or DEFAULT_CONFIG_DIR
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    labels, by_mode = {}, {}
    with out.open("w") as handle:
        for i in range(n):
            inputs = {"input": f"question {i}", "seed": seed * 100_000 + i,
                       "timestamp": f"2026-11-{16 + i % 7}T09:00:00+00:00"}
            trace = run(inputs, config_dir)
            handle.write(trace.model_dump_json() + "\\n")
            mode = truth(inputs, config_dir) or (
                "careless" if _draw(inputs, "lie") < LIE and _draw(inputs, "care") >= 0.6
                and "careful" not in (Path(config_dir) / "prompts" / "system.md").read_text()
                else None)
            if mode:
                labels[trace.trace_id] = {"failure_mode": mode, "root_cause": FAILURE_MODES[mode]}
                by_mode[mode] = by_mode.get(mode, 0) + 1
    labels_path = out.with_name("labels.json")
    labels_path.write_text(json.dumps(labels))
    return SimpleNamespace(traces=n, failing=len(labels), by_mode=by_mode, out=out,
                           labels=labels_path)
"""


def _coin(root: Path, name: str, *, lie: float = 0.0) -> Path:
    folder = _package(root, name, _COIN.replace("LIE = 0.0", f"LIE = {lie}"))
    (folder / "config" / "prompts").mkdir(parents=True)
    (folder / "config" / "prompts" / "system.md").write_text("Answer questions.\n")
    return folder


def _package(root: Path, name: str, init: str, **modules: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(init)
    for module, text in modules.items():
        (folder / f"{module}.py").write_text(text)
    return folder


def _errors(result: object) -> list[str]:
    return str(getattr(result, "stderr", "")).strip().splitlines()


def test_the_demo_world_follows_the_contract(tmp_path: Path) -> None:
    typed: ReplayableWorld = acme  # mypy checks the module against the protocol
    assert contract_problems(typed) == []
    assert load_world(DEMO_WORLD, tmp_path) is acme
    assert load_world("demo", tmp_path) is acme


def test_a_package_world_loads_from_any_folder_and_replay_reaches_its_agent(
    tmp_path: Path,
) -> None:
    _package(tmp_path, "wrapped", _WRAPPER, agent=_AGENT)
    (tmp_path / "notes").mkdir()  # a folder that is no package is not listed

    world = load_world("wrapped", tmp_path)

    assert contract_problems(world) == []
    assert world.AGENT.endswith(".wrapped:run")
    adapter = adapter_from_spec(world.AGENT)  # what the nightly replay does with [replay] agent
    assert adapter.name == "python"
    assert load_world("wrapped", tmp_path) is world  # imported once


def test_a_package_missing_members_is_named_with_the_valid_worlds(tmp_path: Path) -> None:
    _package(tmp_path, "half", "def generate(n, seed, config_dir, out, start=None): ...\n")
    _package(tmp_path, "other", "")
    bad = "FAILURE_MODES = ['a']\nCONFIG_FIXABLE = ['b']\nAGENT = 'python:nowhere_xyz:run'\n"
    _package(tmp_path, "wrong", bad + "DEFAULT_CONFIG_DIR = '/no/such'\ndef truth(inputs): ...\n")

    with pytest.raises(UserError) as missing:
        load_world("half", tmp_path)
    with pytest.raises(UserError) as wrong:
        load_world("wrong", tmp_path)

    assert str(missing.value).startswith(
        "world 'half' is not replayable: missing DEFAULT_CONFIG_DIR, AGENT, FAILURE_MODES, "
        "CONFIG_FIXABLE, truth; replayable worlds: acme, half, other, wrong"
    )
    message = str(wrong.value)
    assert "missing generate" in message
    assert "truth() does not take (inputs, config_dir)" in message
    assert "DEFAULT_CONFIG_DIR is not a directory: '/no/such'" in message
    assert "CONFIG_FIXABLE names modes not in FAILURE_MODES: b" in message
    assert "AGENT 'python:nowhere_xyz:run' does not import" in message
    assert "\n" not in message


def test_a_world_whose_code_fails_to_import_is_one_line(tmp_path: Path) -> None:
    _package(tmp_path, "broken", "import json\nraise RuntimeError('no simulator here')\n")
    with pytest.raises(UserError, match=r"world 'broken' failed to import .*RuntimeError: no sim"):
        load_world("broken", tmp_path)


def test_unknown_and_labelled_only_worlds_are_clear_cli_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["bench", "loop", "--weeks", "1", "--n", "100"]
    worlds = str(REPO / "examples" / "worlds")

    unknown = runner.invoke(app, [*base, "--world", "nope", "--worlds-dir", worlds])
    labelled = runner.invoke(app, [*base, "--world", "devops", "--worlds-dir", worlds])

    assert unknown.exit_code == 1
    valid = ", ".join(replayable_names(Path(worlds)))  # the demo, then every package world
    assert valid.startswith("acme")
    assert "devops" not in valid
    assert _errors(unknown) == [
        f"error: unknown world 'nope' under {worlds}; replayable worlds: {valid}"
    ]
    assert labelled.exit_code == 1
    [line] = _errors(labelled)
    assert line.startswith(f"error: world 'devops' is not replayable: {worlds}/devops has no ")
    assert "a labelled world for `bench cluster`" in line
    assert f"replayable worlds: {valid} (see examples/worlds/REPLAYABLE.md)" in line
    assert not list(tmp_path.iterdir())  # nothing was created before the check


@pytest.mark.slow
@pytest.mark.parametrize("world", [DEMO_WORLD, "wrapped"])
def test_bench_loop_runs_a_week_on_the_demo_and_on_a_package_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world: str
) -> None:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    worlds = tmp_path / "worlds"
    _package(worlds, "wrapped", _WRAPPER, agent=_AGENT)
    args = ["bench", "loop", "--world", world, "--worlds-dir", str(worlds), "--weeks", "1"]

    result = CliRunner().invoke(app, [*args, "--n", "200", "--workdir", str(tmp_path), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["world"] == world
    preflight = report["preflight"]  # the world's truth and agent agreed with its traffic
    assert preflight["problems"] == []
    assert [a["disagree"] for a in preflight["agreements"]] == [0, 0]
    [week] = report["weeks"]
    assert week["week"] == 1
    assert 0 < week["fixable_failure_rate"] < week["failure_rate"] <= 1
    assert set(week["per_mode"]) == set(acme.FAILURE_MODES)


def test_a_world_whose_truth_agrees_with_its_traffic_passes_the_preflight(tmp_path: Path) -> None:
    _coin(tmp_path / "worlds", "coin")
    world = load_world("coin", tmp_path / "worlds")

    assert contract_problems(world) == []
    found = check_replay(world, tmp_path / "check")
    assert found.refusals() == found.warnings() == []
    assert [(a.who, a.compared, a.disagree) for a in found.agreements] == [
        ("truth()", 200, 0),
        (f"the agent ({world.AGENT})", 200, 0),
    ]
    fixed = tmp_path / "fixed"
    shutil.copytree(world.DEFAULT_CONFIG_DIR, fixed)
    (fixed / "prompts" / "system.md").write_text("Answer questions. Be careful.\n")
    inputs = {"input": "question 3", "seed": 3}
    assert {world.truth({**inputs, "seed": s}, fixed) for s in range(50)} <= {None, "outage"}


def test_a_world_whose_truth_disagrees_with_its_labels_is_refused(tmp_path: Path) -> None:
    _coin(tmp_path / "worlds", "liar", lie=1.0)
    args = ["bench", "loop", "--world", "liar", "--worlds-dir", str(tmp_path / "worlds")]

    result = CliRunner().invoke(app, [*args, "--weeks", "1", "--n", "100"])

    assert result.exit_code == 1
    [line] = _errors(result)
    assert line.startswith("error: world 'liar' is not replayable: truth() disagrees with ")
    assert "generate() on " in line
    assert "label 'careless', truth() None" in line
    assert line.endswith("--no-check runs it anyway)")


def test_a_rare_disagreement_is_a_warning_not_a_refusal(tmp_path: Path) -> None:
    _coin(tmp_path / "worlds", "fibber", lie=0.05)
    world = load_world("fibber", tmp_path / "worlds")

    found = check_replay(world, tmp_path / "check")

    truth = found.agreements[0]
    assert 0 < truth.disagree <= 0.05 * truth.compared
    assert found.refusals() == []
    assert found.warnings() == [truth.describe()]
    assert found.refusals(max_disagreement=0.0) == [truth.describe()]


def test_demo_generate_accepts_any_replayable_world_as_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _coin(tmp_path / "worlds", "coin_demo")
    monkeypatch.syspath_prepend(str(tmp_path / "worlds"))
    monkeypatch.setenv("FLYWHEEL_DEMO_WORLD", "coin_demo")
    out = tmp_path / "out" / "traces.jsonl"
    runner = CliRunner()

    shown = runner.invoke(app, ["demo", "generate", "--n", "40", "--out", str(out), "--json"])
    said = runner.invoke(app, ["demo", "generate", "--n", "40", "--out", str(out)])

    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.stdout)
    assert summary["traces"] == 40
    assert summary["out"] == str(out)
    assert summary["failing"] == sum(summary["by_mode"].values()) > 0
    assert said.exit_code == 0, said.output
    rate = summary["failing"] / 40
    said_text = "".join(said.stdout.split())  # rich wraps long paths anywhere, even mid-word
    assert said_text == "".join(
        (
            f"wrote 40 traces to {out}; {summary['failing']} failing ({rate:.1%}); labels in "
            f"{out.with_name('labels.json')}"
        ).split()
    )
