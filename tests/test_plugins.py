"""Plugins: the built-ins are plugins, a third party's format, strategy and scorer reach the CLI
through the same hooks, and a broken plugin stops a command with one line naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flywheel.cli import app
from flywheel.formats import Parsed, Record, Rejected, TraceSource, format_names
from flywheel.hookspecs import hookimpl
from flywheel.plugins import PluginError
from flywheel.trace import Trace
from optimizers import (
    InlineExecutor,
    OptimizationTask,
    Proposal,
    optimize,
    strategy_names,
)
from tests.helpers.optimizers import fresh_project, sample_clusters
from tests.helpers.plugins import installed

runner = CliRunner()


class PipeFormat:
    """``id|input|output`` lines after a ``PIPE`` header."""

    name = "pipe"

    def sniff(self, source: TraceSource, head: bytes) -> float:
        return 1.0 if head.startswith(b"PIPE\n") else 0.0

    def read(self, source: TraceSource) -> Iterator[Record]:
        for item in source.lines():
            if isinstance(item, Rejected):
                yield item
                continue
            line, raw = item
            fields = raw.decode().strip().split("|")
            if fields == ["PIPE"]:
                continue
            if len(fields) != 3:
                yield Rejected(source.name, line, "expected id|input|output", raw=raw)
                continue
            trace = Trace(trace_id=fields[0], input=fields[1], output=fields[2])
            yield Parsed(trace=trace, file=source.name, line=line)


class Shout:
    """Adds one rule in capitals to the system prompt (a strategy of a third party)."""

    name = "shout"

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        prompt = task.config_files["prompts/system.md"]
        rule = f"\nALWAYS MIND {task.label.upper()}.\n"
        return [Proposal(edits={"prompts/system.md": prompt + rule}, rationale="shout the rule")]


class AcmePlugin:
    @hookimpl
    def register_formats(self, register: Callable[[Any], None]) -> None:
        register(PipeFormat())

    @hookimpl
    def register_strategies(self, register: Callable[[str, Callable[[], Any]], None]) -> None:
        register("shout", Shout)


def invoke(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("FLYWHEEL_DATABASE_URL", raising=False)
    root = tmp_path / "project"
    invoke("init", str(root))
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(root))
    return root


def test_the_built_ins_are_plugins_listed_core_first() -> None:
    listed = {row["name"]: row["registers"] for row in invoke("plugins")}
    assert list(listed)[:5] == ["core", "optimizers", "replay", "triage", "ui"]
    assert {"native", "otlp", "langsmith", "chat"} <= set(listed["core"]["formats"])
    assert "step_errors" in listed["core"]["detectors"]
    assert listed["core"]["stages"] == ["ingest", "detect", "cluster"]
    assert {"rules", "routing", "fewshot", "revert", "gepa"} == set(
        listed["optimizers"]["strategies"]
    )
    assert "no_error" in listed["replay"]["scorers"]
    assert listed["replay"]["evaluators"] == ["replay"]
    assert listed["optimizers"]["candidate_providers"] == ["optimizers"]
    assert all("commands" in kinds for kinds in listed.values())


def test_a_plugin_s_format_is_detected_and_named_by_ingest(project_dir: Path) -> None:
    data = project_dir / "calls.txt"
    data.write_text("PIPE\nt1|where is my order|it ships today\nt2|refund?|no\nbroken line\n")
    unknown = runner.invoke(app, ["ingest", str(data), "--format", "pipe"])
    assert unknown.exit_code == 1
    assert "unknown format 'pipe'; valid formats: auto, otlp" in unknown.output
    with installed(AcmePlugin(), name="acme"):
        assert format_names()[-1] == "pipe"  # after the built-ins: they win ties
        named = invoke("ingest", str(data), "--format", "pipe")
        assert (named["stored"], named["quarantined"]) == (2, 1)
        data.write_text("PIPE\nt3|hello|hi\n")
        detected = invoke("ingest", str(data))
        assert detected["stored"] == 1
    assert "pipe" not in format_names()
    assert invoke("stats")["traces"] == 3


def test_a_plugin_s_strategy_is_accepted_by_optimize(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, workspace = fresh_project(tmp_path, "shouting", monkeypatch)
    monkeypatch.setenv("FLYWHEEL_PROJECT", str(project.root))
    refused = runner.invoke(app, ["optimize", "--strategy", "shout", "--cluster", "C-9"])
    assert refused.exit_code == 1
    assert "unknown strategy 'shout'; valid: fewshot, gepa, revert, routing, rules" in (
        refused.output
    )
    with installed(AcmePlugin(), name="acme"):
        assert "shout" in strategy_names()
        accepted = runner.invoke(app, ["optimize", "--strategy", "shout", "--cluster", "C-9"])
        assert accepted.exit_code == 1
        assert "no triaged clusters" in accepted.output
        with project.open_store() as store:
            result = optimize(
                store, workspace, sample_clusters(), strategies=["shout"], executor=InlineExecutor()
            )
    assert result.candidates
    assert {c.strategy for c in result.candidates} == {"shout"}
    assert "ALWAYS MIND" in workspace.diff(result.candidates[0].branch or "")


def test_two_plugins_registering_one_name_are_both_named() -> None:
    class Copycat:
        @hookimpl
        def register_strategies(self, register: Callable[..., None]) -> None:
            register("rules", Shout)

    with (
        installed(Copycat(), name="copycat"),
        pytest.raises(
            PluginError,
            match="strategy 'rules' is registered by two plugins: 'optimizers' and 'copycat'",
        ),
    ):
        strategy_names()


def test_a_plugin_whose_hook_raises_is_named() -> None:
    class Broken:
        @hookimpl
        def register_formats(self, register: Callable[..., None]) -> None:
            raise KeyError("schema")

    with (
        installed(Broken(), name="broken-formats"),
        pytest.raises(
            PluginError,
            match=r"plugin 'broken-formats' failed in register_formats: KeyError: 'schema'",
        ),
    ):
        format_names()


def _installed_package(root: Path, name: str, entry: str, module: str, code: str) -> Path:
    """A package ``name`` on disk whose metadata names ``entry`` in the group ``flywheel``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(code)
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[flywheel]\n{entry} = {module}\n")
    return root


def _flywheel(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    command = [sys.executable, "-c", "from flywheel.cli import main; main()", *args]
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_installed_package_plugs_in_through_the_entry_point_group(tmp_path: Path) -> None:
    code = (
        "from flywheel.hookspecs import hookimpl\n\n"
        "class PipeFormat:\n"
        "    name = 'pipe'\n"
        "    def sniff(self, source, head):\n"
        "        return head.startswith(b'PIPE')\n"
        "    def read(self, source):\n"
        "        return iter(())\n\n"
        "@hookimpl\n"
        "def register_formats(register):\n"
        "    register(PipeFormat())\n"
    )
    site = _installed_package(tmp_path / "site", "acme-traces", "acme", "acme_traces", code)
    done = _flywheel(site, "plugins", "--json", cwd=Path.cwd())
    assert done.returncode == 0, done.stderr
    listed = {row["name"]: row["registers"] for row in json.loads(done.stdout)}
    assert list(listed)[-1] == "acme"  # third parties after the built-ins
    assert listed["acme"] == {"formats": ["pipe"]}


def test_a_broken_plugin_stops_every_command_with_one_line_naming_it(tmp_path: Path) -> None:
    code = "import acme_missing_dependency\n"
    site = _installed_package(tmp_path / "site", "acme-broken", "acme", "acme_broken", code)
    done = _flywheel(site, "stats", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: plugin 'acme' (acme_broken, entry point group 'flywheel')")
    assert "ModuleNotFoundError: No module named 'acme_missing_dependency'" in lines[0]


def test_a_hook_name_with_a_typo_is_an_error_naming_the_plugin(tmp_path: Path) -> None:
    code = (
        "from flywheel.hookspecs import hookimpl\n\n"
        "@hookimpl\n"
        "def register_format(register):\n"
        "    pass\n"
    )
    site = _installed_package(tmp_path / "site", "acme-typo", "acme", "acme_typo", code)
    done = _flywheel(site, "stats", cwd=tmp_path)
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "plugin 'acme' (acme_typo" in line
    assert "register_format" in line
