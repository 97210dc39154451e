"""The optimizer tests: a demo configuration, trace builders and a fresh git project."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.project import Project, init_project
from flywheel.trace import Trace
from optimizers import ClusterInput, ConfigWorkspace, OptimizerStore, adopt_or_init_config_repo

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


def sample_clusters() -> list[ClusterInput]:
    drafts = [
        make_trace(
            f"d{i}",
            f"Draft an email to Dana at Client{i} about the renewal.",
            "Key points: renewal is due.",
            route="search",
            via="rule:drafts",
        )
        for i in range(8)
    ]
    memory = [
        make_trace(
            f"m{i}",
            f"What has customer {i} been complaining about lately?",
            "As far as I remember all is fine.",
            route="direct",
            via="fallback",
        )
        for i in range(8)
    ]
    healthy = [
        make_trace(
            f"h{i}",
            f"What has customer {i} been complaining about this month?",
            "They reported slow imports [TK-1].",
            route="search",
            via="exemplar",
            similarity=0.6,
            thumbs=1,
        )
        for i in range(6)
    ] + [
        make_trace(
            f"g{i}",
            f"Draft an email to Sam at Client{i} about the renewal.",
            f"Subject: Renewal\n\nHi Sam,\n\nThe renewal is due {i}.\n\nBest",
            thumbs=1,
        )
        for i in range(4)
    ]
    slow = [make_trace(f"s{i}", f"status of service {i}", "timed out") for i in range(5)]
    return [
        ClusterInput(
            cluster_id="C-0001",
            label="omitted draft",
            keywords=["draft"],
            root_cause="prompt_instruction",
            failing=drafts,
            neighbours=healthy,
        ),
        ClusterInput(
            cluster_id="C-0002",
            label="answered from memory",
            root_cause="routing_decision",
            failing=memory,
            neighbours=healthy,
        ),
        ClusterInput(
            cluster_id="C-0003", label="tool timeout", root_cause="latency_infra", failing=slow
        ),
    ]


def fresh_project(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Project, ConfigWorkspace]:
    monkeypatch.setenv("FLYWHEEL_DATABASE_URL", f"sqlite:///{tmp_path}/{name}.db")
    project, _ = init_project(tmp_path / name)
    config = write_config(tmp_path / f"{name}-config")
    return project, adopt_or_init_config_repo(project, config)


def outcome(
    project: Project, ws: ConfigWorkspace
) -> list[tuple[str, str, str | None, list[str], str, str]]:
    with project.open_store() as store:
        records = OptimizerStore(store).candidates()
    return [
        (
            r.cluster_id,
            r.strategy,
            r.branch,
            r.files_changed,
            r.rationale,
            ws.diff(r.branch) if r.branch else r.reason,
        )
        for r in records
    ]
