"""The reads the pages make: paged, indexed, bounded. Nothing here loads all traces.

Every function returns plain pydantic models or small lists; a page renders them. "This week"
is the seven days up to the newest trace that is not in the future (so a historical or demo
data set has a week too, and a producer with a broken clock does not move it).

The reads live by subject: `ui._week_queries`, `ui._cluster_queries`, `ui._trace_queries`
and `ui._candidate_queries`; this module gathers them for the pages.
"""

from ui._candidate_queries import (
    CandidateLine,
    GateOutcome,
    ShipLine,
    candidate_counts,
    cluster_candidates,
    gate_outcomes,
    replay_runs,
    ships,
)
from ui._cluster_queries import (
    ClusterDetail,
    ClusterLine,
    cluster_detail,
    cluster_lines,
    cluster_map,
    cluster_map_version,
    cluster_of,
    cluster_weeks,
)
from ui._trace_queries import (
    Cursor,
    TraceFilter,
    cursor_of,
    resolve_cluster,
    routes,
    search_traces,
    traces_by_id,
)
from ui._week_queries import (
    ANCHOR_SLACK,
    WEEK,
    Week,
    WeekOverview,
    reference_end,
    week_overview,
    weekly_rates,
)

__all__ = [
    "ANCHOR_SLACK",
    "WEEK",
    "CandidateLine",
    "ClusterDetail",
    "ClusterLine",
    "Cursor",
    "GateOutcome",
    "ShipLine",
    "TraceFilter",
    "Week",
    "WeekOverview",
    "candidate_counts",
    "cluster_candidates",
    "cluster_detail",
    "cluster_lines",
    "cluster_map",
    "cluster_map_version",
    "cluster_of",
    "cluster_weeks",
    "cursor_of",
    "gate_outcomes",
    "reference_end",
    "replay_runs",
    "resolve_cluster",
    "routes",
    "search_traces",
    "ships",
    "traces_by_id",
    "week_overview",
    "weekly_rates",
]
