"""The one split rule of a cluster's failing traces: optimisation part vs held-out validation.

The optimizers learn from the optimisation part; the replay gate judges a candidate on the
held-out part. Both sides must agree on every trace, so both call this module and nothing else.

A trace is held out when ``rank(trace_id, seed) < holdout``, where ``rank`` is a keyed hash
mapped to [0, 1). The side of a trace depends on its id and the seed only, never on which other
traces are in the cluster: a cluster that grows (or is re-clustered, or merged) keeps every old
trace on its old side, and two processes that never talk agree. Stratification is by
construction in expectation (each failure signature is held out at the rate ``holdout``,
independently of the others); an exact per-signature quota would make a trace's side depend on
its neighbours, which is the property we cannot give up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from flywheel.errors import UserError

#: Share of a cluster's failing traces held out from the optimizers for the replay gate.
DEFAULT_HOLDOUT = 0.3
#: The seed both the optimizers and replay use unless a caller names another.
DEFAULT_SEED = 0


def split_rank(trace_id: str, seed: int = DEFAULT_SEED) -> float:
    """A uniform number in [0, 1) fixed by (seed, trace id)."""
    digest = hashlib.blake2b(f"{seed}|{trace_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def check_holdout(holdout: float) -> float:
    if not 0 < holdout < 1:
        raise UserError(f"holdout must be between 0 and 1 (exclusive), got {holdout}")
    return holdout


def is_held_out(
    trace_id: str, *, holdout: float = DEFAULT_HOLDOUT, seed: int = DEFAULT_SEED
) -> bool:
    """Whether ``trace_id`` belongs to the validation part (never shown to an optimizer)."""
    return split_rank(trace_id, seed) < check_holdout(holdout)


def split_trace_ids(
    trace_ids: Iterable[str], *, holdout: float = DEFAULT_HOLDOUT, seed: int = DEFAULT_SEED
) -> tuple[list[str], list[str]]:
    """(optimisation part, held-out part), each in the order given."""
    check_holdout(holdout)
    optimisation: list[str] = []
    held: list[str] = []
    for trace_id in trace_ids:
        (held if split_rank(trace_id, seed) < holdout else optimisation).append(trace_id)
    return optimisation, held


__all__ = [
    "DEFAULT_HOLDOUT",
    "DEFAULT_SEED",
    "check_holdout",
    "is_held_out",
    "split_rank",
    "split_trace_ids",
]
