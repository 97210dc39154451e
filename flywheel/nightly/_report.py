"""The nightly report: one record per stage, rendered as Markdown and JSON.

Stages put what the report shows into their summaries by convention: ``cluster`` (``new``,
``grown``), ``optimize`` (``candidates``), ``gate`` (``decisions``), ``queue``
(``queue_size``, ``imported``) and ``drift`` (``pass_rate``, ``previous_pass_rate``).
A stage a team adds shows up in the stage table with its summary in the JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flywheel.private import private_dir, write_private_text

#: Version of the JSON report; bump when a field changes meaning.
REPORT_VERSION = 1


class StageReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    #: finished, failed, running (interrupted), pending (not reached)
    status: str
    seconds: float = 0.0
    summary: dict[str, Any] = Field(default_factory=dict)
    counts: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 0
    error: str = ""


class NightlyReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = REPORT_VERSION
    run_id: int
    #: finished or failed
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    resumed: bool = False
    stages: list[StageReport] = Field(default_factory=list)
    error: str = ""

    def stage(self, name: str) -> StageReport | None:
        return next((s for s in self.stages if s.name == name), None)

    def _summary(self, name: str) -> dict[str, Any]:
        found = self.stage(name)
        return found.summary if found is not None else {}

    def markdown(self) -> str:
        """The report for people: stage table, clusters, candidates, decisions, queue, drift."""
        lines = [f"# Flywheel nightly run {self.run_id}", ""]
        when = self.started_at.isoformat(timespec="seconds") if self.started_at else "?"
        lines.append(f"Status: **{self.status}**, started {when}" + (" (resumed)" * self.resumed))
        if self.error:
            lines += ["", f"Error: {self.error}"]
        lines += [
            "",
            "## Stages",
            "",
            "| stage | status | seconds | summary |",
            "|---|---|---|---|",
        ]
        for stage in self.stages:
            text = stage.error or _short(stage.summary)
            lines.append(f"| {stage.name} | {stage.status} | {stage.seconds:.1f} | {text} |")
        lines += self._not_read() + self._clusters() + self._candidates() + self._decisions()
        lines += self._queue() + self._drift()
        return "\n".join(lines) + "\n"

    def _not_read(self) -> list[str]:
        passed = self._summary("ingest").get("not_read", [])
        if not passed:
            return []
        out = ["", "## Inbox entries not read", ""]
        out += [f"- `{p.get('path')}`: {p.get('reason')}" for p in passed]
        return out

    def _clusters(self) -> list[str]:
        summary = self._summary("cluster")
        if not summary:
            return []
        new, grown = summary.get("new", []), summary.get("grown", {})
        out = ["", "## Clusters", ""]
        out.append(
            f"{summary.get('kind', '?')} run: {summary.get('clusters', 0)} active clusters, "
            f"{len(new)} new, {len(grown)} grown"
        )
        out += [f"- new {cid}" for cid in new]
        out += [f"- {cid} grew by {n}" for cid, n in sorted(grown.items())]
        return out

    def _candidates(self) -> list[str]:
        made = self._summary("optimize").get("candidates", [])
        if not made:
            return []
        out = ["", "## Candidates proposed", ""]
        out += [
            f"- {c.get('id')} {c.get('cluster_id')} {c.get('strategy')} {c.get('branch') or ''}"
            for c in made
        ]
        return out

    def _decisions(self) -> list[str]:
        decisions = self._summary("gate").get("decisions", [])
        if not decisions:
            return []
        out = ["", "## Gate decisions", ""]
        for d in decisions:
            reasons = "; ".join(str(r) for r in d.get("reasons", [])) or "all checks passed"
            out.append(
                f"- {d.get('candidate_id')} ({d.get('cluster_id')}): "
                f"**{d.get('decision')}**: {reasons}"
            )
        return out

    def _queue(self) -> list[str]:
        summary = self._summary("queue")
        if not summary:
            return []
        out = ["", "## Approval queue", ""]
        out.append(
            f"{summary.get('queue_size', 0)} waiting for approval; "
            f"{len(summary.get('imported', []))} added tonight"
        )
        if summary.get("shipped"):
            out.append(f"shipped: {', '.join(str(x) for x in summary['shipped'])}")
        return out

    def _drift(self) -> list[str]:
        summary = self._summary("drift")
        if not summary:
            return []
        rate, before = summary.get("pass_rate"), summary.get("previous_pass_rate")
        text = f"main passes {_pct(rate)} of {summary.get('cases', 0)} regression cases"
        if before is not None and rate is not None:
            text += f" (previous night {_pct(before)}, {rate - before:+.1%})"
        return ["", "## Drift of main", "", text]

    def write(self, directory: Path) -> tuple[Path, Path]:
        """``nightly-<run id>.md`` and ``.json`` in ``directory``; their paths."""
        private_dir(directory)
        md = directory / f"nightly-{self.run_id}.md"
        js = directory / f"nightly-{self.run_id}.json"
        write_private_text(md, self.markdown())
        write_private_text(
            js, json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
        )
        return md, js


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.1%}"


def _short(summary: dict[str, Any], limit: int = 120) -> str:
    """Scalars of a summary as ``key=value`` (lists and dicts by their length)."""
    parts = []
    for key, value in summary.items():
        if isinstance(value, list | dict):
            parts.append(f"{key}={len(value)}")
        elif isinstance(value, float):
            parts.append(f"{key}={value:.3g}")
        else:
            parts.append(f"{key}={value}")
    text = ", ".join(parts).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"
