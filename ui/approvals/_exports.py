"""What the Exports page shows and does: exported files with their dataset cards, and a new
export (`flywheel.export.export_dataset`) into the project's export folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from flywheel.errors import UserError
from flywheel.export import ExportKind, ExportReport, card_path, export_dataset
from flywheel.private import private_dir
from flywheel.project import Project
from flywheel.store import Store, run_lock
from ui.approvals._rules import check_export
from ui.approvals._users import User

#: The project's export folder, under its data folder (`flywheel export --out` may go anywhere;
#: the app writes and lists here).
EXPORTS_DIR = "training-data"
KINDS = tuple(kind.value for kind in ExportKind)


class ExportFile(BaseModel):
    name: str
    path: Path
    bytes: int
    records: int
    modified: datetime
    card: Path | None


def exports_dir(project: Project) -> Path:
    return project.data_dir / EXPORTS_DIR


def _records(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def exported_files(folder: Path) -> list[ExportFile]:
    """The JSONL exports in ``folder``, newest first, each with its card when there is one."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.jsonl"):
        card = card_path(path)
        stat = path.stat()
        found.append(
            ExportFile(
                name=path.name,
                path=path,
                bytes=stat.st_size,
                records=_records(path),
                modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                card=card if card.is_file() else None,
            )
        )
    return sorted(found, key=lambda f: (f.modified, f.name), reverse=True)


def run_export(store: Store, project: Project, user: User, kind: str) -> ExportReport:
    """Export ``kind`` into the export folder as ``<kind>-<UTC time>.jsonl`` (approvers).

    Raises `flywheel.export.NothingToExport` (nothing written) when no record is eligible, and
    `flywheel.store.LockHeld` while a nightly run or another pipeline command holds the lock.
    """
    check_export(user)
    if kind not in KINDS:
        raise UserError(f"unknown export format '{kind}'; valid: {', '.join(KINDS)}")
    config = project.settings.export
    embedder = None
    if kind != ExportKind.eval.value and config.near_duplicate_threshold < 1:
        from flywheel.embeddings import Embedder

        embedder = Embedder(cache_dir=project.data_dir / "embeddings")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = exports_dir(project) / f"{kind}-{stamp}.jsonl"
    private_dir(out.parent)
    # Like `flywheel export`: under the pipeline's run lock (a refusal names the holder), and
    # the holdout's exclusion read is logged under the signed-in user's name.
    with run_lock(store, command=f"flywheel ui export {kind}"):
        return export_dataset(
            store, kind, out=out, config=config, embedder=embedder, reader=user.name
        )
