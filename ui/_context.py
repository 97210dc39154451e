"""What every page shares: the project's store (one per server process) and the user."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from flywheel.chain import anchor_engine
from flywheel.project import Project, load_project
from flywheel.store import Store


def project() -> Project:
    """The project named by FLYWHEEL_PROJECT (set by `flywheel ui`), else the current folder."""
    return load_project(None)


@st.cache_resource(show_spinner=False)
def _store(url: str, data: str) -> Store:
    opened = Store.open(url)
    anchor_engine(opened.engine, Path(data))  # decisions made in the app move the anchors too
    return opened


def store() -> Store:
    proj = project()
    return _store(proj.database_url, str(proj.data_dir))


def data_dir() -> Path:
    return project().data_dir
