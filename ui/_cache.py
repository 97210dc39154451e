"""Results shared by every session of the server while the data they come from is unchanged.

A page's first render in a new session (a reload, a link, another reviewer) recomputes what
it shows; the results here are costly to compute and change only with a new clustering run,
so they are kept per store and data version (`st.cache_data`: each caller gets its own copy).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from flywheel.store import Store
from ui._queries import cluster_map, cluster_map_version


@st.cache_data(max_entries=4, show_spinner=False)
def _cluster_map(_db: Store, database: str, version: tuple[int, int]) -> list[dict[str, Any]]:
    del database, version  # the cache key (the store itself is not hashed): same data, same map
    return cluster_map(_db)


def shared_cluster_map(db: Store) -> list[dict[str, Any]]:
    """`cluster_map` of the app's store, computed once per clustering run."""
    return _cluster_map(db, db.engine.url.render_as_string(), cluster_map_version(db))
