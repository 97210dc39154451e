"""A test hook, not a feature: ``FLYWHEEL_FAULT_AT`` kills the nightly run with SIGKILL at a
chosen point of a chosen stage, so the fault-injection suite (tests/nightly) can crash a real
process at a reproducible place and check that the next run resumes cleanly.

``FLYWHEEL_FAULT_AT=<stage>:<point>``, where point is one of

- ``start``: the stage is marked running, nothing of it done yet;
- ``commit:<N>``: inside the stage's N-th database commit (counted on the store's engine),
  before it lands, so that transaction is lost and the N-1 before it are kept;
- ``end``: the stage's work is done, but not yet recorded as finished.

Unset (always, outside those tests) it costs one environment lookup per stage.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from flywheel.errors import UserError
from flywheel.store import Store

ENV = "FLYWHEEL_FAULT_AT"


def _target() -> tuple[str, str] | None:
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    stage, sep, point = spec.partition(":")
    valid = point in ("start", "end") or (
        point.startswith("commit:") and point[len("commit:") :].isdigit()
    )
    if not sep or not stage or not valid:
        raise UserError(
            f"{ENV}={spec!r}: expected <stage>:start, <stage>:end or <stage>:commit:<N> "
            "(a test hook; unset it)"
        )
    return stage, point


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def point(stage: str, name: str) -> None:
    """Die here when ``FLYWHEEL_FAULT_AT`` names this stage and point."""
    if _target() == (stage, name):
        _die()


@contextmanager
def commits(store: Store, stage: str) -> Iterator[None]:
    """While the stage runs, die inside its N-th commit when ``FLYWHEEL_FAULT_AT`` says so."""
    target = _target()
    if target is None or target[0] != stage or not target[1].startswith("commit:"):
        yield
        return
    limit = int(target[1].split(":", 1)[1])
    seen = 0

    def count(_conn: Any) -> None:
        nonlocal seen
        seen += 1
        if seen >= limit:
            _die()

    event.listen(store.engine, "commit", count)
    try:
        yield
    finally:
        event.remove(store.engine, "commit", count)
