"""Replayable worlds: `flywheel bench loop --world NAME` finds the demo or a package world,
checks its contract, and names what is missing in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import examples.acme_assistant.cli as acme
from flywheel.cli import app
from flywheel.errors import UserError
from flywheel.worlds import DEMO_WORLD, ReplayableWorld, contract_problems, load_world
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
    assert _errors(unknown) == [
        f"error: unknown world 'nope' under {worlds}; replayable worlds: acme"
    ]
    assert labelled.exit_code == 1
    [line] = _errors(labelled)
    assert line.startswith(f"error: world 'devops' is not replayable: {worlds}/devops has no ")
    assert "a labelled world for `bench cluster`" in line
    assert "replayable worlds: acme (see examples/worlds/REPLAYABLE.md)" in line
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
    [week] = report["weeks"]
    assert week["week"] == 1
    assert 0 < week["fixable_failure_rate"] < week["failure_rate"] <= 1
    assert set(week["per_mode"]) == set(acme.FAILURE_MODES)
