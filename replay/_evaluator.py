"""The replay harness as the optimizer's evaluator (entry point ``flywheel.evaluators: replay``).

GEPA (in optimizers, which may not import replay) scores candidate prompt texts through an
`optimizers.Evaluator` found by name. This one runs the project's agent adapter under the
candidate files on the given traces' requests, with the same seeds as production (so only the
configuration differs), and judges each run with replay's default scorers: 1.0 when the case
passes, 0.0 when it fails, averaged over ``[replay.harness] repeats``. An infrastructure error
(the agent raised, timed out, answered garbage) counts 0.0 for that repeat: GEPA must not
prefer a text that breaks the agent. Nothing is cached or stored: candidate texts are
throw-away, and the held-out slice is never among the traces (the optimizer holds none of it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from flywheel.config import HarnessOptions
from flywheel.errors import UserError
from flywheel.trace import Trace
from replay._adapters import adapter_from_spec
from replay._cases import case_from_trace
from replay._harness import replay_sync
from replay._models import CaseSet, ConfigRef, Status, Suite

if TYPE_CHECKING:
    from flywheel.project import Project


class ReplayEvaluator:
    """Scores configurations by replaying traces' requests through an agent adapter.

    ``agent`` is an adapter spec (``python:pkg.mod:fn``, ``http:URL``, ``langgraph:...``);
    the object holds only strings and settings, so it can be pickled to worker processes.
    """

    def __init__(self, agent: str, *, options: HarnessOptions | None = None) -> None:
        self.agent = agent
        self.options = options or HarnessOptions()

    def evaluate(self, candidate_files: dict[str, str], traces: Sequence[Trace]) -> list[float]:
        if not traces:
            return []
        cases = tuple(case_from_trace(trace) for trace in traces)
        case_set = CaseSet(name="optimizer-evaluation", suite=Suite.validation, cases=cases)
        with tempfile.TemporaryDirectory(prefix="flywheel-eval-") as tmp:
            root = Path(tmp)
            for name, text in candidate_files.items():
                relative = PurePosixPath(name)
                if relative.is_absolute() or ".." in relative.parts:
                    raise UserError(f"configuration path '{name}' leaves the configuration")
                target = root.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            agent = adapter_from_spec(self.agent, concurrency=self.options.concurrency)
            outcome = replay_sync(case_set, ConfigRef(directory=root), agent, options=self.options)
        passed: dict[str, list[float]] = {}
        for result in outcome.results:
            passed.setdefault(result.case_id, []).append(float(result.status is Status.passed))
        return [sum(v) / len(v) if (v := passed.get(c.case_id)) else 0.0 for c in cases]


def replay_evaluator(project: Project) -> ReplayEvaluator:
    """The factory registered under ``flywheel.evaluators``: the project's ``[replay]`` agent."""
    replay = project.settings.replay
    if not replay.agent:
        raise UserError(
            "the replay evaluator needs the agent to run: set [replay] agent in flywheel.toml "
            "(python:package.module:function, http:URL or langgraph:...)"
        )
    return ReplayEvaluator(replay.agent, options=replay.harness)
