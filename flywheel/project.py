"""A Flywheel project: a folder with `flywheel.toml` and its data under `.flywheel/`."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from flywheel.chain import anchor_engine
from flywheel.config import CONFIG_FILE, Settings, load_settings
from flywheel.errors import ProjectNotFound
from flywheel.llm import LLMClient
from flywheel.private import private_dir
from flywheel.store import Store, resolve_url

_log = logging.getLogger(__name__)

DATA_DIR = ".flywheel"

CONFIG_TEMPLATE = """\
# Flywheel project configuration. Every key can be overridden by an environment variable:
# FLYWHEEL_<KEY> at the top level, FLYWHEEL_<SECTION>__<KEY> in a section.

# SQLite file in this folder by default; a team uses PostgreSQL:
# database_url = "postgresql+psycopg://user:password@host/flywheel"
database_url = "sqlite:///.flywheel/flywheel.db"

# The agent's configuration directory, under git (`flywheel init --config DIR` sets it).
# config_repo = "agent-config"

[ingest]
batch_size = 2000
# A trace stamped more than this many hours after the ingest time, or days before it, is
# kept but flagged (`flywheel traces list --flagged`) and counts in no week.
max_future_hours = 24
max_past_days = 3650
# A "running" ingest that has committed nothing for this long shows as abandoned.
stale_run_minutes = 30

[signals]
# A trace is failing when its combined signal (noisy-OR of signal strengths) reaches this.
failing_threshold = 0.5

# What each score means: `bad_below` (higher is better) or `bad_above` (higher is worse).
# Well-known evaluator names (hallucination, toxicity, faithfulness, relevance...) have
# built-in directions; `default` applies to the others.
[signals.scores]
default = { bad_below = 0.5 }
# hallucination = { bad_above = 0.5 }
"""


def _set_config_repo(config: Path, directory: Path) -> None:
    """Write ``config_repo = "..."`` as a top-level key (before the first section)."""
    lines = config.read_text(encoding="utf-8").splitlines()
    line = f"config_repo = {json.dumps(str(directory))}"
    kept = [x for x in lines if not x.startswith("config_repo")]
    first_section = next((i for i, x in enumerate(kept) if x.startswith("[")), len(kept))
    kept.insert(first_section, line)
    config.write_text("\n".join(kept) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Project:
    root: Path
    settings: Settings

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR

    @property
    def database_url(self) -> str:
        return resolve_url(self.settings.database_url, self.root)

    @property
    def config_repo(self) -> Path | None:
        """The agent's configuration directory, if the project names one."""
        if self.settings.config_repo is None:
            return None
        return (self.root / self.settings.config_repo).resolve()

    def open_store(self) -> Store:
        """The project's store; its audit chains' heads are anchored in the data folder."""
        url = self.database_url
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("opening the store %s", _without_password(url))
        store = Store.open(url)
        anchor_engine(store.engine, self.data_dir)
        return store

    def llm_client(self, run_id: str = "default") -> LLMClient:
        """The LLM access layer with this project's models, cache and ledger."""
        return LLMClient(self.settings.llm, store_path=self.data_dir / "llm.sqlite", run_id=run_id)


def _without_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def project_root(path: Path | None = None) -> Path:
    """The folder given, else ``FLYWHEEL_PROJECT``, else the current directory."""
    if path is not None:
        return path.resolve()
    env = os.environ.get("FLYWHEEL_PROJECT")
    return Path(env).resolve() if env else Path.cwd()


def load_project(path: Path | None = None) -> Project:
    root = project_root(path)
    if not (root / CONFIG_FILE).is_file():
        raise ProjectNotFound(
            f"no {CONFIG_FILE} in {root}; run `flywheel init {root}` or pass --project DIR"
        )
    _log.debug("project %s", root)
    return Project(root, load_settings(root))


def init_project(path: Path, *, config_repo: Path | None = None) -> tuple[Project, bool]:
    """Create the project's config and database if missing; returns (project, created).

    ``config_repo`` records the agent's configuration directory (idempotent: a project that
    already names one keeps it unless a different one is given).
    """
    root = path.resolve()
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_FILE
    created = not config.exists()
    if created:
        config.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    if config_repo is not None:
        repo = config_repo.resolve()  # relative when inside the project, so the folder can move
        _set_config_repo(config, repo.relative_to(root) if repo.is_relative_to(root) else repo)
    private_dir(root / DATA_DIR)
    project = Project(root, load_settings(root))
    project.open_store().close()
    return project, created
