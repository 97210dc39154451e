"""Which files ingest reads (regular files under the roots, no links) and the modes of what
Flywheel writes (0600 files, 0700 folders): the store holds users' words."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flywheel import ingest as ingest_module
from flywheel.cli import app
from flywheel.export._write import write_jsonl
from flywheel.formats import Rejected, TraceSource
from flywheel.ingest import expand_paths
from flywheel.nightly import NightlyOptions, run_nightly
from flywheel.project import Project, init_project

SECRET = "root:$6$saltsalt$secrethashsecrethash:19000:0:99999:7:::"


@pytest.fixture
def sqlite_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.setenv("FLYWHEEL_DATABASE_URL", f"sqlite:///{tmp_path}/project/.flywheel/fw.db")
    monkeypatch.delenv("FLYWHEEL_PROJECT", raising=False)
    old = os.umask(0o022)  # the common default: without care, files come out 0644
    try:
        created, _ = init_project(tmp_path / "project")
        monkeypatch.chdir(created.root)
        yield created
    finally:
        os.umask(old)


def _inbox(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow").write_text(SECRET + "\n")
    (outside / "more.jsonl").write_text(json.dumps({"trace_id": "x1", "input": "hi"}) + "\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "day.jsonl").write_text(json.dumps({"trace_id": "t1", "input": "hello"}) + "\n")
    (inbox / "shadow.jsonl").symlink_to(outside / "shadow")
    (inbox / "elsewhere").symlink_to(outside, target_is_directory=True)
    os.mkfifo(inbox / "pipe.jsonl")  # would block a reader forever
    return inbox


def _db_bytes(project: Project) -> bytes:
    data = project.root / ".flywheel"
    return b"".join(p.read_bytes() for p in data.glob("fw.db*"))


def test_links_in_the_inbox_are_skipped_with_a_reason(
    sqlite_project: Project, tmp_path: Path
) -> None:
    inbox = _inbox(tmp_path)
    result = CliRunner().invoke(app, ["ingest", str(inbox), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["stored"] == 1
    assert report["quarantined"] == 0
    reasons = {Path(s["file"]).name: s["reason"] for s in report["skipped"]}
    assert reasons["shadow.jsonl"].startswith("symbolic link, not followed")
    assert reasons["elsewhere"].startswith("symbolic link, not followed")
    assert reasons["pipe.jsonl"] == "not a regular file"
    assert b"secrethash" not in _db_bytes(sqlite_project)


def test_a_named_link_is_skipped_too_and_read_with_follow_symlinks(
    sqlite_project: Project, tmp_path: Path
) -> None:
    inbox = _inbox(tmp_path)
    named = CliRunner().invoke(app, ["ingest", str(inbox / "shadow.jsonl")])
    assert named.exit_code == 0, named.output
    assert "not followed" in named.output
    with sqlite_project.open_store() as store:
        assert store.count_quarantined() == 0

    followed = CliRunner().invoke(app, ["ingest", str(inbox), "--follow-symlinks", "--json"])
    assert followed.exit_code == 0, followed.output
    report = json.loads(followed.stdout)
    assert report["stored"] == 2  # day.jsonl and elsewhere/more.jsonl
    assert report["quarantined"] == 1  # the linked file, as the user asked


def test_a_link_swapped_in_after_the_walk_is_refused_when_opened(
    sqlite_project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)
    listed = expand_paths([inbox])
    assert [p.name for p in listed] == ["day.jsonl"]
    # the race, made deterministic: the walk saw a regular file, the reader finds a link
    (inbox / "day.jsonl").unlink()
    (inbox / "day.jsonl").symlink_to(tmp_path / "outside" / "more.jsonl")
    source = TraceSource(inbox / "day.jsonl")
    assert source.head() == b""
    [rejected] = list(source.lines())
    assert isinstance(rejected, Rejected)
    assert "is a symbolic link now; not read" in rejected.reason
    assert rejected.raw == b""
    assert TraceSource(inbox / "day.jsonl", follow_symlinks=True).head().startswith(b"{")

    monkeypatch.setattr(ingest_module, "expand_paths", lambda *_a, **_k: list(listed))
    with sqlite_project.open_store() as store:
        counts = ingest_module.ingest_paths(store, [inbox])
        assert store.count_traces() == 0
        assert store.count_quarantined() == 0
    assert counts.stored == 0
    assert [s["file"] for s in counts.skipped] == [str(inbox / "day.jsonl")]
    assert "symbolic link" in counts.skipped[0]["reason"]
    assert b'"x1"' not in _db_bytes(sqlite_project)


def test_a_fifo_swapped_in_after_the_walk_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    os.mkfifo(path)
    assert TraceSource(path).refusal() == f"{path} is not a regular file now; not read"
    [rejected] = list(TraceSource(path).lines())
    assert isinstance(rejected, Rejected)


def test_a_folder_of_small_exports_is_read_one_open_per_file(
    sqlite_project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Detection and the reader see the bytes read once: for one-trace files, the opens (a
    refusal check, gzip checks, detection's prefix, the reader) cost more than parsing."""
    folder = tmp_path / "exports"
    folder.mkdir()
    for i in range(3):
        (folder / f"t{i}.json").write_text(json.dumps({"trace_id": f"t{i}", "input": "hi"}))
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: Any, flags: int, *args: Any) -> int:
        opened.append(str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", counting_open)
    with sqlite_project.open_store() as store:
        counts = ingest_module.ingest_paths(store, [folder])
    assert counts.stored == 3
    assert sorted(p for p in opened if p.startswith(str(folder))) == [
        str(folder / f"t{i}.json") for i in range(3)
    ]


def test_a_link_loop_is_read_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "t.jsonl").write_text("{}\n")
    (root / "a" / "back").symlink_to(root, target_is_directory=True)
    files = expand_paths([root], follow_symlinks=True)
    assert [p.relative_to(root).as_posix() for p in files] == ["a/t.jsonl"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_cache_reports_and_exports_are_private(
    sqlite_project: Project, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "day.jsonl").write_text(json.dumps({"trace_id": "t1", "input": "hello"}) + "\n")
    run_nightly(sqlite_project, options=NightlyOptions(stages=("ingest",), inbox=inbox))
    client = sqlite_project.llm_client()  # creates the LLM cache
    client.close()
    write_jsonl(tmp_path / "exports" / "sft.jsonl", [{"a": 1}])

    data = sqlite_project.root / ".flywheel"
    written = [
        *data.glob("fw.db*"),
        data / "llm.sqlite",
        *(data / "reports").glob("nightly-*"),
        tmp_path / "exports" / "sft.jsonl",
    ]
    assert len(written) >= 5
    assert {p.name: oct(_mode(p)) for p in written} == {p.name: "0o600" for p in written}
    for folder in (data, data / "reports", tmp_path / "exports"):
        assert _mode(folder) == 0o700, folder


def test_an_existing_world_readable_database_is_tightened(
    sqlite_project: Project,
) -> None:
    db = sqlite_project.root / ".flywheel" / "fw.db"
    db.chmod(0o644)
    with sqlite_project.open_store() as store:
        store.count_traces()
    assert _mode(db) == 0o600


def test_the_nightly_report_says_which_inbox_entries_were_not_read(
    sqlite_project: Project, tmp_path: Path
) -> None:
    inbox = _inbox(tmp_path)
    report = run_nightly(sqlite_project, options=NightlyOptions(stages=("ingest",), inbox=inbox))
    ingest = report.stage("ingest")
    assert ingest is not None
    assert ingest.counts["stored"] == 1
    assert {p["path"] for p in ingest.summary["not_read"]} == {
        "elsewhere",
        "pipe.jsonl",
        "shadow.jsonl",
    }
    assert "`shadow.jsonl`: symbolic link, not followed" in report.markdown()
    assert b"secrethash" not in _db_bytes(sqlite_project)
