"""`flywheel bench triage --agentrx DIR`: the failing step against AgentRx's root-cause labels.

AgentRx labels, for every failed run, the step of the root-cause failure and the agent that
took it. Both public domains are read: Magentic-One (multi-agent chat step lists; the step is
the 1-based position in the list) and tau-bench retail (a tool-calling assistant and a
simulated user; the step is the message's ``index``, also 1-based). Flywheel's chat and
tau-bench readers give every message the step id of its 1-based position and a tool call the
id ``{message}.{n}``, so a predicted step is compared by the message it belongs to.

Metrics per domain and overall: exact step, step within ±1 and agent accuracy (agent names
compared case- and punctuation-blind: "Websurfer" is "WebSurfer"), next to the expected
accuracy of a uniform random pick (a step among the run's messages, an agent among those that
spoke) and the published Who&When figures.

The rule has a few parameters (`StepRule`: which evidence is hard, whether the
consequential-action fallback is used). They are chosen on one domain and measured on the
other (leave-one-domain-out); ties go to the default rule, then to the order of the grid.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from sqlalchemy import select

from flywheel.errors import UserError
from flywheel.store import Store
from flywheel.store._tables import TraceRow
from flywheel.trace import Trace
from triage._evidence import MemberTrace
from triage._step import HARD_EVIDENCE, StepRule, agent_of, failing_step

Log = Callable[[str], None]

#: Who&When (Zhang et al., ICML 2025), hand-crafted subset, step- and agent-level accuracy.
PUBLISHED = {
    "who&when random": {"step": 0.042, "agent": 0.191},
    "who&when GPT-4o all-at-once": {"step": 0.142, "agent": 0.535},
}
DOMAINS = ("magentic-one", "tau-retail")
_NOT_AGENTS = frozenset({"system", "developer"})


@dataclass(frozen=True)
class StepLabel:
    trace_id: str
    domain: str
    step: int
    agent: str


def agentrx_step_labels(dataset: Path) -> list[StepLabel]:
    """The root-cause step and agent of every labelled AgentRx run, keyed by Flywheel trace id."""
    data = dataset / "data" if (dataset / "data").is_dir() else dataset
    truth = data / "ground_truth"
    if not truth.is_dir():
        raise UserError(f"{dataset}: no ground_truth folder; pass the AgentRx dataset folder")
    tau_ids: dict[int, str] = {}
    tau_file = data / "tau_retail" / "tau_dataset_failed.json"
    if tau_file.is_file():
        for run in _read_json(tau_file):
            trial = f"-trial{run['trial']}" if run.get("trial") is not None else ""
            tau_ids[int(run["task_id"])] = f"retail-task{run['task_id']}{trial}"
    out: list[StepLabel] = []
    files = (("magentic_one_ground_truth.json", DOMAINS[0]), ("tau_ground_truth.json", DOMAINS[1]))
    for name, domain in files:
        path = truth / name
        if not path.is_file():
            continue
        for record in _read_json(path):
            root = int(record["root_cause"]["failure_id"])  # one record stores it as "1"
            failure = next((f for f in record["failures"] if int(f["failure_id"]) == root), None)
            if failure is None:
                continue
            trajectory = record["trajectory_id"]
            key = tau_ids.get(int(trajectory)) if domain == DOMAINS[1] else str(trajectory)
            if key is None:
                continue
            step = int(failure["step_number"])
            out.append(StepLabel(key, domain, step, str(failure.get("failed_agent") or "")))
    if not out:
        raise UserError(f"{truth}: no labelled root-cause step found")
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None


def position(step_id: str | None) -> int | None:
    """The 1-based message a chat step id belongs to ("7" -> 7, tool call "7.1" -> 7)."""
    if step_id is None:
        return None
    head = step_id.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def same_agent(a: str | None, b: str | None) -> bool:
    def norm(name: str | None) -> str:
        return "".join(ch for ch in (name or "").lower() if ch.isalnum())

    return bool(norm(a)) and norm(a) == norm(b)


def rule_grid() -> list[StepRule]:
    """Every subset of the hard evidence kinds, with and without the consequential fallback;
    the default rule first."""
    kinds = sorted(set(HARD_EVIDENCE.values()))
    rules = [StepRule()]
    for size in range(len(kinds) + 1):
        for subset in combinations(kinds, size):
            for consequential in (True, False):
                rule = StepRule(frozenset(subset), consequential)
                if rule not in rules:
                    rules.append(rule)
    return rules


def score_steps(
    labels: Sequence[StepLabel], members: dict[str, MemberTrace], rule: StepRule
) -> dict[str, Any]:
    """Exact, ±1 and agent accuracy of ``rule`` on ``labels``, with the random baseline."""
    exact = near = agent = 0
    rand_exact = rand_near = rand_agent = 0.0
    rows: list[dict[str, Any]] = []
    for label in labels:
        member = members[label.trace_id]
        found = failing_step(member.trace, member.signals, rule=rule)
        pos = position(found.step_id)
        exact += pos == label.step
        near += pos is not None and abs(pos - label.step) <= 1
        agent += same_agent(found.agent, label.agent)
        n, agents = _choices(member.trace)
        rand_exact += 1 / n if n else 0.0
        rand_near += sum(1 for p in (label.step - 1, label.step, label.step + 1) if 1 <= p <= n) / (
            n or 1
        )
        rand_agent += (1 / len(agents)) if any(same_agent(a, label.agent) for a in agents) else 0
        rows.append(
            {
                "trace_id": label.trace_id,
                "label_step": label.step,
                "label_agent": label.agent,
                "step": pos,
                "agent": found.agent,
                "kind": found.kind,
                "confidence": found.confidence,
            }
        )
    total = len(labels)
    by_kind: dict[str, dict[str, Any]] = {}
    for row in rows:
        cell = by_kind.setdefault(
            row["kind"], {"traces": 0, "confidence": row["confidence"], "exact": 0, "within_1": 0}
        )
        cell["traces"] += 1
        cell["exact"] += row["step"] == row["label_step"]
        cell["within_1"] += row["step"] is not None and abs(row["step"] - row["label_step"]) <= 1
    for cell in by_kind.values():
        cell["exact"] = round(cell["exact"] / cell["traces"], 4)
        cell["within_1"] = round(cell["within_1"] / cell["traces"], 4)

    def rate(value: float) -> float | None:
        return round(value / total, 4) if total else None

    return {
        "traces": total,
        "exact": rate(exact),
        "within_1": rate(near),
        "agent": rate(agent),
        "random": {
            "exact": rate(rand_exact),
            "within_1": rate(rand_near),
            "agent": rate(rand_agent),
        },
        "by_kind": by_kind,
        "rows": rows,
    }


def _choices(trace: Trace) -> tuple[int, set[str]]:
    positions = {p for p in (position(s.id) for s in trace.steps) if p is not None}
    agents = {a for s in trace.steps if (a := agent_of(s, trace.steps)) is not None}
    return (max(positions) if positions else len(trace.steps)), {
        a for a in agents if a.lower() not in _NOT_AGENTS
    }


def _select(
    labels: Sequence[StepLabel], members: dict[str, MemberTrace], rules: Iterable[StepRule]
) -> tuple[StepRule, dict[str, Any]]:
    best: tuple[StepRule, dict[str, Any]] | None = None
    for rule in rules:
        result = score_steps(labels, members, rule)
        key = (result["exact"] or 0, result["within_1"] or 0, result["agent"] or 0)
        if best is None or key > (
            best[1]["exact"] or 0,
            best[1]["within_1"] or 0,
            best[1]["agent"] or 0,
        ):
            best = (rule, result)
    assert best is not None  # the grid is never empty
    return best


def run_step_benchmark(
    dataset: Path, *, workdir: Path | None = None, log: Log | None = None
) -> dict[str, Any]:
    """Ingest AgentRx's two domains, name the failing step of every labelled run, score it."""
    from flywheel.config import SignalsConfig
    from flywheel.ingest import ingest_paths
    from flywheel.signals import detect_failures
    from triage._store import load_members

    log = log or (lambda _m: None)
    labels = agentrx_step_labels(dataset)
    data = dataset / "data" if (dataset / "data").is_dir() else dataset
    sources = [data / "magentic_dataset", data / "tau_retail" / "tau_dataset_failed.json"]
    sources = [p for p in sources if p.exists()]
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        store = Store.open(f"sqlite:///{tmp}/steps.db")
        try:
            counts = ingest_paths(store, sources)
            detect_failures(store, SignalsConfig())
            with store.engine.connect() as conn:
                pks = {
                    r.trace_id: r.id for r in conn.execute(select(TraceRow.id, TraceRow.trace_id))
                }
            loaded = load_members(
                store, [pks[lab.trace_id] for lab in labels if lab.trace_id in pks]
            )
        finally:
            store.close()
    members = {m.trace.trace_id: m for m in loaded.values()}
    labels = [lab for lab in labels if lab.trace_id in members]
    if not labels:
        raise UserError(f"{dataset}: no labelled run was found among the ingested traces")
    log(f"ingested {counts.stored} traces; {len(labels)} with a labelled root-cause step")
    by_domain = {d: [lab for lab in labels if lab.domain == d] for d in DOMAINS}
    default = StepRule()
    report: dict[str, Any] = {
        "dataset": str(dataset),
        "rule": default.describe(),
        "published": PUBLISHED,
        "overall": _strip(score_steps(labels, members, default)),
        "domains": {d: _strip(score_steps(ls, members, default)) for d, ls in by_domain.items()},
    }
    grid = rule_grid()
    held_out: dict[str, Any] = {}
    for tuned_on, test_on in ((DOMAINS[0], DOMAINS[1]), (DOMAINS[1], DOMAINS[0])):
        if not by_domain[tuned_on] or not by_domain[test_on]:
            continue
        rule, tuned = _select(by_domain[tuned_on], members, grid)
        tested = score_steps(by_domain[test_on], members, rule)
        held_out[test_on] = {
            "tuned_on": tuned_on,
            "rule": rule.describe(),
            "tuned_exact": tuned["exact"],
            **_strip(tested),
        }
        log(f"tuned on {tuned_on} ({rule.describe()}): {test_on} exact {tested['exact']}")
    report["leave_one_domain_out"] = held_out
    report["grid_size"] = len(grid)
    report["per_trace"] = score_steps(labels, members, default)["rows"]
    return report


def _strip(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "rows"}
