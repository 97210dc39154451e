"""Revert: a cluster that appeared right after a configuration change gets that hunk reverted.

The newest change to the configuration's main branch within ``window`` before the cluster was
first seen is the suspect; its hunks are ranked by how many of the cluster's words (label,
keywords, failing requests and outputs) they mention, and the best hunk is reverted alone
(the whole change as a second proposal).
"""

from __future__ import annotations

import difflib
from datetime import timedelta

from optimizers._evidence import request_of, tokens
from optimizers._task import ConfigChange, OptimizationTask, Proposal


def _hunks(before: list[str], after: list[str]) -> list[tuple[int, int, int, int]]:
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def revert_hunk(
    before: str, after: str, current: str, hunk: tuple[int, int, int, int]
) -> str | None:
    """``current`` with the lines the hunk added replaced by the ones it removed, if still there."""
    i1, i2, j1, j2 = hunk
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    lines = current.splitlines(keepends=True)
    added, removed = new[j1:j2], old[i1:i2]
    for start in range(len(lines) - len(added) + 1):
        if lines[start : start + len(added)] == added and (added or start == min(j1, len(lines))):
            return "".join(lines[:start] + removed + lines[start + len(added) :])
    return None


class RevertChange:
    name = "revert"

    def __init__(self, window: timedelta = timedelta(days=3)) -> None:
        self.window = window

    def _suspect(self, task: OptimizationTask) -> ConfigChange | None:
        if task.first_seen is None:
            return None
        earlier = [
            c
            for c in task.recent_changes
            if c.committed_at <= task.first_seen and task.first_seen - c.committed_at <= self.window
        ]
        return max(earlier, key=lambda c: c.committed_at) if earlier else None

    def propose(self, task: OptimizationTask, *, limit: int) -> list[Proposal]:
        change = self._suspect(task)
        if change is None:
            return []
        words = set(tokens(" ".join([task.label, *task.keywords])))
        for trace in task.failing:
            words |= set(tokens(request_of(trace) + " " + trace.output_text))
        ranked: list[tuple[int, str, tuple[int, int, int, int]]] = []
        for path, (before, after) in sorted(change.files.items()):
            old, new = before.splitlines(), after.splitlines()
            for hunk in _hunks(old, new):
                text = " ".join(old[hunk[0] : hunk[1]] + new[hunk[2] : hunk[3]])
                ranked.append((len(words & set(tokens(text))), path, hunk))
        ranked.sort(key=lambda item: (-item[0], item[1], item[2]))
        proposals: list[Proposal] = []
        when = change.committed_at.isoformat(timespec="minutes")
        if ranked:
            score, path, hunk = ranked[0]
            before, after = change.files[path]
            current = task.config_files.get(path)
            reverted = revert_hunk(before, after, current, hunk) if current is not None else None
            if reverted is not None and reverted != current:
                proposals.append(
                    Proposal(
                        edits={path: reverted},
                        rationale=(
                            f"{task.cluster_id} first appeared {task.first_seen} right after "
                            f"commit "
                            f"{change.commit[:10]} ({when}); revert its hunk in {path} that shares "
                            f"{score} words with the cluster's evidence"
                        ),
                        detail={"commit": change.commit, "path": path, "hunk": list(hunk)},
                    )
                )
        whole = {
            path: before
            for path, (before, after) in change.files.items()
            if task.config_files.get(path) == after
        }
        if whole and len(proposals) < limit and (not proposals or whole != proposals[0].edits):
            proposals.append(
                Proposal(
                    edits=whole,
                    rationale=(
                        f"{task.cluster_id} first appeared right after commit {change.commit[:10]} "
                        f"({when}); revert the whole change"
                    ),
                    detail={"commit": change.commit, "paths": sorted(whole)},
                )
            )
        return proposals[:limit]
