"""Incremental assignment votes with a bounded, evenly spread sample of each cluster."""

from __future__ import annotations

from flywheel.clustering._assign import VOTERS, spread_per_cluster


def test_each_cluster_keeps_at_most_voters_spread_over_all_its_members() -> None:
    rows = [("big", i) for i in range(3 * VOTERS)] + [("small", i) for i in range(7)]
    kept = spread_per_cluster(rows, lambda row: row[0])
    big = [i for name, i in kept if name == "big"]
    assert len(big) == VOTERS
    assert (big[0], big[-1]) == (0, 3 * VOTERS - 1)  # from the first member to the last
    assert big == sorted(set(big))
    assert [i for name, i in kept if name == "small"] == list(range(7))  # small ones whole
    assert spread_per_cluster(rows, lambda row: row[0]) == kept
