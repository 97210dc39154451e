from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.store import Store
from tests.helpers.world import load_traffic


@pytest.fixture
def loaded(store: Store, tmp_path: Path) -> Store:
    """The store with the hand-made traffic ingested and its failures detected."""
    load_traffic(store, tmp_path)
    return store
