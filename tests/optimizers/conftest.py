"""Fixtures: a real git configuration repository in a project, and trace builders."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.project import Project, init_project
from flywheel.trace import Trace
from optimizers import ConfigWorkspace, adopt_or_init_config_repo
from tests.llm.conftest import llm_client, openai_server

#: The loopback LLM fixtures, for the GEPA tests' reflection model.
__all__ = ["llm_client", "openai_server"]

SYSTEM_PROMPT = "# Assistant\n\nYou are a helpful assistant.\nBe concise.\n"
ROUTING = """\
# Router rules.
rules:
  - name: vague
    pattern: "\\\\b(it|them)\\\\b"
    route: clarify
  - name: tickets
    pattern: "\\\\btickets?\\\\b"
    route: tool
exemplars:
  direct: ["hi", "thanks"]
  search: ["who owns the account"]
threshold: 0.3
clarify_below: 0.0
fallback: direct
"""
TOOLS = """\
tools:
  - name: ticket_search
    description: Search tickets.
    parameters:
      since:
        type: date
        description: Start of the period.
"""
FEWSHOT = 'examples:\n  - request: "Hello"\n    response: "Hi! How can I help?"\n'


def write_config(directory: Path) -> Path:
    (directory / "prompts").mkdir(parents=True)
    (directory / "fewshot").mkdir()
    (directory / "prompts" / "system.md").write_text(SYSTEM_PROMPT)
    (directory / "routing.yaml").write_text(ROUTING)
    (directory / "tools.yaml").write_text(TOOLS)
    (directory / "fewshot" / "examples.yaml").write_text(FEWSHOT)
    return directory


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return write_config(tmp_path / "agent-config")


@pytest.fixture
def git_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project on SQLite, for tests about git rather than the database backend."""
    monkeypatch.setenv("FLYWHEEL_DATABASE_URL", f"sqlite:///{tmp_path}/git-project.db")
    created, _ = init_project(tmp_path / "git-project")
    return created


@pytest.fixture
def workspace(git_project: Project, config_dir: Path) -> ConfigWorkspace:
    return adopt_or_init_config_repo(git_project, config_dir)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(directory).parts
    }


def make_trace(
    trace_id: str,
    request: str,
    output: str = "ok",
    *,
    route: str | None = None,
    via: str = "fallback",
    similarity: float = 0.0,
    tool_input: dict[str, str] | None = None,
    error: str | None = None,
    thumbs: int | None = None,
) -> Trace:
    steps: list[dict[str, object]] = []
    if route is not None:
        steps.append(
            {
                "id": f"{trace_id}-r",
                "type": "router",
                "name": "route",
                "input": {"text": request},
                "output": {"route": route, "via": via, "similarity": similarity},
            }
        )
    if tool_input is not None:
        steps.append(
            {
                "id": f"{trace_id}-t",
                "type": "tool",
                "name": "ticket_search",
                "input": tool_input,
                "error": error,
            }
        )
    steps.append({"id": f"{trace_id}-l", "type": "llm", "name": "answer", "output": output})
    feedback = [{"kind": "thumb", "value": thumbs}] if thumbs is not None else []
    return Trace.model_validate(
        {
            "trace_id": trace_id,
            "input": {"input": request},
            "output": output,
            "steps": steps,
            "feedback": feedback,
        }
    )
