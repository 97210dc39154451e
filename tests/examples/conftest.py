"""Fixtures for the demo world: editable copies of the shipped configuration."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.acme_assistant import DEFAULT_CONFIG_DIR

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def config_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Return a factory copying the default configuration directory under ``tmp_path``."""

    def make(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(DEFAULT_CONFIG_DIR, target)
        return target

    return make
