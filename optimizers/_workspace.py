"""The configuration repository: adoption at `flywheel init`, candidate branches and worktrees.

Every candidate is a branch ``flywheel/<cluster>/<strategy>-<n>`` made from a base commit of
the main branch and checked out in its own worktree under ``<project>/.flywheel/worktrees``;
the main branch, its working tree (the live configuration) and HEAD are never touched. Git
metadata changes (worktree add/remove, branch creation/deletion) run under an inter-process
lock in the repository's git directory, so parallel workers never race on shared state, and
each candidate has its own ref and worktree. Git is driven through GitPython with argument
lists, never a shell string; every name and commit text coming from a cluster is sanitised.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import git
import yaml
from pydantic import BaseModel, ConfigDict

from flywheel.errors import FlywheelError, UserError
from flywheel.private import private_dir, write_private_text
from flywheel.project import Project
from optimizers._naming import branch_name, commit_message, ref_component
from optimizers._task import ConfigChange

WORKSPACE_VERSION = 1
CONFIG_SUFFIXES = frozenset({".md", ".yaml", ".yml", ".txt", ".json", ".toml"})
_ACTOR = git.Actor("Flywheel", "flywheel@localhost")
#: What `branch_name` makes: flywheel/<cluster>/<strategy>-<n>.
_CANDIDATE_BRANCH = re.compile(r"flywheel/[a-z0-9._-]+/[a-z0-9._-]+-[0-9]+")


class CandidateFailure(FlywheelError):
    """One candidate could not be made; the message is the recorded reason."""


class WorkspaceInfo(BaseModel):
    """``.flywheel/optimizers/workspace.json``: where the configuration repository is."""

    model_config = ConfigDict(extra="forbid")

    version: int = WORKSPACE_VERSION
    repo: Path
    #: The configuration directory inside the repository (POSIX, "" = the repository root).
    config_dir: str
    main: str
    worktrees: Path


class CandidateBranch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    branch: str
    worktree: Path
    base_commit: str
    head_commit: str
    files_changed: list[str]


def _info_path(project: Project) -> Path:
    return project.data_dir / "optimizers" / "workspace.json"


def adopt_or_init_config_repo(project: Project, config_dir: Path) -> ConfigWorkspace:
    """Put the agent's configuration directory under git (or adopt its repository).

    Called by `flywheel init --config DIR`. A directory inside a git work tree is adopted as
    is (its current branch is "main" for Flywheel); otherwise a repository is created in it
    with one commit of its files on branch ``main``. Idempotent.
    """
    directory = Path(config_dir).resolve()
    if not directory.is_dir():
        raise UserError(f"configuration directory {directory} does not exist")
    try:
        repo = git.Repo(directory, search_parent_directories=True)
    except git.InvalidGitRepositoryError:
        repo = git.Repo.init(directory, initial_branch="main")
    with repo:
        if repo.head.is_detached:
            raise UserError(
                f"the configuration repository {repo.working_tree_dir} has a detached HEAD; "
                "check out its main branch (git switch main) and run flywheel init again"
            )
        root = Path(str(repo.working_tree_dir)).resolve()
        relative = directory.relative_to(root).as_posix()
        relative = "" if relative == "." else relative
        if not repo.head.is_valid():
            repo.git.add("--", relative or ".")
            repo.index.commit(
                "Flywheel: initial agent configuration", author=_ACTOR, committer=_ACTOR
            )
        info = WorkspaceInfo(
            repo=root,
            config_dir=relative,
            main=repo.active_branch.name,
            worktrees=project.data_dir / "worktrees",
        )
    path = _info_path(project)
    write_private_text(path, info.model_dump_json(indent=2))
    private_dir(info.worktrees)
    return ConfigWorkspace(info)


def open_workspace(project: Project) -> ConfigWorkspace:
    """The project's configuration workspace; adopted on first use from ``config_repo``."""
    path = _info_path(project)
    if not path.is_file() and project.config_repo is not None:
        return adopt_or_init_config_repo(project, project.config_repo)
    if not path.is_file():
        raise UserError(
            "no configuration repository for this project; run "
            "`flywheel init --config PATH/TO/AGENT/CONFIG`"
        )
    info = WorkspaceInfo.model_validate_json(path.read_text(encoding="utf-8"))
    if info.version != WORKSPACE_VERSION:
        raise UserError(f"{path}: unsupported version {info.version}; run flywheel init again")
    return ConfigWorkspace(info)


class ConfigWorkspace:
    """Candidate branches and worktrees of one configuration repository."""

    def __init__(self, info: WorkspaceInfo) -> None:
        self.info = info

    # -- reading ---------------------------------------------------------------------------

    def repo(self) -> git.Repo:
        return git.Repo(self.info.repo)

    def _prefix(self) -> str:
        return f"{self.info.config_dir}/" if self.info.config_dir else ""

    def head_commit(self) -> str:
        with self.repo() as repo:
            return str(repo.commit(self.info.main).hexsha)

    def config_files(self, commit: str | None = None) -> dict[str, str]:
        """The configuration at ``commit`` (default: main's head): relative path -> text."""
        with self.repo() as repo:
            tree = repo.commit(commit or self.info.main).tree
            if self.info.config_dir:
                tree = tree / self.info.config_dir
            files: dict[str, str] = {}
            for blob in tree.traverse():
                if isinstance(blob, git.Blob) and PurePosixPath(blob.path).suffix in (
                    CONFIG_SUFFIXES
                ):
                    rel = PurePosixPath(blob.path).relative_to(self.info.config_dir or ".")
                    files[rel.as_posix()] = blob.data_stream.read().decode("utf-8", "replace")
            return files

    def recent_changes(self, limit: int = 20) -> list[ConfigChange]:
        """The last commits of main that touched the configuration, newest first."""
        changes: list[ConfigChange] = []
        with self.repo() as repo:
            paths: list[str | os.PathLike[str]] = (
                [self.info.config_dir] if self.info.config_dir else []
            )
            for commit in repo.iter_commits(self.info.main, paths=paths, max_count=limit):
                if not commit.parents:
                    continue
                files: dict[str, tuple[str, str]] = {}
                for diff in commit.parents[0].diff(commit, paths=paths or None):
                    path = diff.b_path or diff.a_path
                    if not path or not path.startswith(self._prefix()):
                        continue
                    before = diff.a_blob.data_stream.read().decode() if diff.a_blob else ""
                    after = diff.b_blob.data_stream.read().decode() if diff.b_blob else ""
                    files[path[len(self._prefix()) :]] = (before, after)
                changes.append(
                    ConfigChange(
                        commit=commit.hexsha,
                        committed_at=commit.committed_datetime.astimezone(UTC),
                        message=str(commit.message),
                        files=files,
                    )
                )
        return changes

    def diff(self, branch: str, base: str | None = None) -> str:
        """The candidate's change: ``base`` (default: its merge base with main) to its head."""
        with self.repo() as repo:
            if branch not in repo.heads:
                raise UserError(f"branch {branch} no longer exists in {self.info.repo}")
            start = base or repo.merge_base(self.info.main, branch)[0].hexsha
            return str(repo.git.diff(start, branch, "--"))

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[git.Repo]:
        """The repository, under an exclusive inter-process lock for git metadata changes."""
        with self.repo() as repo:
            lock_path = Path(repo.common_dir) / "flywheel-workspace.lock"
            with lock_path.open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield repo
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def worktree_path(self, cluster_id: str, strategy: str, number: int) -> Path:
        return (
            self.info.worktrees / ref_component(cluster_id) / f"{ref_component(strategy)}-{number}"
        )

    def create_candidate(
        self,
        *,
        cluster_id: str,
        strategy: str,
        number: int,
        edits: dict[str, str],
        base_commit: str,
        subject: str,
        body: str,
        trailers: dict[str, str],
    ) -> CandidateBranch:
        """Commit ``edits`` on a new branch from ``base_commit``, rebased onto main if it moved.

        Raises `CandidateFailure` (nothing left behind) on a dirty or detached repository, an
        existing branch or worktree, a path outside the configuration, unparsable YAML, an
        empty change or a conflict with main.
        """
        branch = branch_name(cluster_id, strategy, number)
        path = self.worktree_path(cluster_id, strategy, number)
        files = self._check_edits(edits)
        with self.locked() as repo:
            self._check_repo(repo, branch, path)
            private_dir(path.parent)  # a cluster's worktrees hold its traces' words
            try:
                repo.git.worktree("add", "-b", branch, str(path), base_commit)
            except git.GitCommandError as exc:
                raise CandidateFailure(f"git worktree add failed: {_git_reason(exc)}") from None
        try:
            return self._commit(branch, path, files, base_commit, subject, body, trailers)
        except BaseException:
            self.remove(branch, path, delete_branch=True)
            raise

    def _check_repo(self, repo: git.Repo, branch: str, path: Path) -> None:
        if repo.head.is_detached:
            raise CandidateFailure(
                "the configuration repository has a detached HEAD; check out "
                f"{self.info.main} before optimizing"
            )
        if repo.is_dirty(untracked_files=True, path=self.info.config_dir or None):
            raise CandidateFailure(
                "the configuration directory has uncommitted changes; commit or stash them "
                "so candidates start from the live configuration"
            )
        if branch in repo.heads:
            raise CandidateFailure(
                f"branch {branch} already exists; delete it (git branch -D {branch}) or "
                "reject its candidate"
            )
        if path.exists():
            raise CandidateFailure(f"worktree {path} already exists; remove it first")

    def _check_edits(self, edits: dict[str, str]) -> dict[str, str]:
        if not edits:
            raise CandidateFailure("the strategy proposed no file change")
        checked: dict[str, str] = {}
        for name, text in edits.items():
            rel = PurePosixPath(name)
            if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts[0] == ".git":
                raise CandidateFailure(f"edit of {name!r} is outside the configuration directory")
            if rel.suffix not in CONFIG_SUFFIXES:
                raise CandidateFailure(
                    f"edit of {name!r}: not a configuration file "
                    f"({', '.join(sorted(CONFIG_SUFFIXES))})"
                )
            if not isinstance(text, str):
                raise CandidateFailure(f"edit of {name!r}: new text is not a string")
            if rel.suffix in (".yaml", ".yml"):
                try:
                    yaml.safe_load(text)
                except yaml.YAMLError as exc:
                    raise CandidateFailure(f"{name}: invalid YAML: {exc}") from None
            checked[rel.as_posix()] = text
        return checked

    def _commit(
        self,
        branch: str,
        path: Path,
        files: dict[str, str],
        base_commit: str,
        subject: str,
        body: str,
        trailers: dict[str, str],
    ) -> CandidateBranch:
        root = path / self.info.config_dir if self.info.config_dir else path
        for name, text in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        with git.Repo(path) as work:
            work.git.add("--", *[f"{self._prefix()}{name}" for name in files])
            if not work.index.diff("HEAD"):
                raise CandidateFailure("the proposed files equal the current configuration")
            message = commit_message(subject, body, {**trailers, "Flywheel-Base": base_commit})
            work.index.commit(message, author=_ACTOR, committer=_ACTOR, skip_hooks=True)
            main_head = work.commit(self.info.main).hexsha
            if main_head != base_commit:
                try:
                    work.git.rebase(self.info.main)
                except git.GitCommandError as exc:
                    with contextlib.suppress(git.GitCommandError):
                        work.git.rebase("--abort")
                    raise CandidateFailure(
                        f"merge conflict rebasing onto {self.info.main} "
                        f"({main_head[:10]}): {_git_reason(exc)}"
                    ) from None
                # Same tree, re-recorded so its Flywheel-Base trailer names the new base.
                message = commit_message(subject, body, {**trailers, "Flywheel-Base": main_head})
                work.index.commit(
                    message,
                    parent_commits=[work.commit(main_head)],
                    author=_ACTOR,
                    committer=_ACTOR,
                    skip_hooks=True,
                )
            head = work.head.commit.hexsha
            changed = str(work.git.diff("--name-only", main_head, head)).split()
        outside = [name for name in changed if not name.startswith(self._prefix())]
        if outside:
            raise CandidateFailure(f"the change touches files outside the configuration: {outside}")
        return CandidateBranch(
            branch=branch,
            worktree=path,
            base_commit=main_head,
            head_commit=head,
            files_changed=sorted(name[len(self._prefix()) :] for name in changed),
        )

    def remove(self, branch: str, path: Path | None = None, *, delete_branch: bool) -> None:
        """Remove a candidate's worktree (and its branch when ``delete_branch``); idempotent."""
        with self.locked() as repo:
            if path is not None and path.exists():
                try:
                    repo.git.worktree("remove", "--force", str(path))
                except git.GitCommandError:
                    shutil.rmtree(path, ignore_errors=True)
            repo.git.worktree("prune")
            if delete_branch and branch in repo.heads:
                repo.git.branch("-D", branch)

    def clean_orphans(self, known_branches: set[str]) -> list[str]:
        """Remove candidate branches and worktrees that no stored candidate names; the branches.

        A run killed mid-optimize leaves branches and worktrees whose records were never
        written; the resumed run would collide with them ("branch ... already exists"). Only
        ``flywheel/`` branches made here are deleted (see `_made_here`), and only directories
        under the worktrees folder are removed, so a person's own branches and files are never
        touched. Run it under the pipeline lock: a live second run's branches would look
        orphaned too.
        """
        removed: list[str] = []
        with self.locked() as repo:
            repo.git.worktree("prune")
            checked_out = _worktrees_by_branch(repo)
            for head in list(repo.heads):
                name = head.name
                if not name.startswith("flywheel/") or name in known_branches:
                    continue
                path = checked_out.get(name)
                if not self._made_here(repo, head, path):
                    continue
                if path is not None:
                    try:
                        repo.git.worktree("remove", "--force", str(path))
                    except git.GitCommandError:
                        shutil.rmtree(path, ignore_errors=True)
                        repo.git.worktree("prune")
                repo.git.branch("-D", name)
                removed.append(name)
            registered = {p.resolve() for p in _worktrees_by_branch(repo).values()}
            root = self.info.worktrees.resolve()
            if root.is_dir():
                for cluster_dir in sorted(root.iterdir()):
                    if not cluster_dir.is_dir() or cluster_dir.is_symlink():
                        continue
                    for leaf in sorted(cluster_dir.iterdir()):
                        if leaf.is_dir() and not leaf.is_symlink() and leaf not in registered:
                            shutil.rmtree(leaf, ignore_errors=True)
                    if not any(cluster_dir.iterdir()):
                        cluster_dir.rmdir()
        return removed

    def _made_here(self, repo: git.Repo, head: git.Head, worktree: Path | None) -> bool:
        """A candidate branch of ours: its commit has our trailer, or it was killed before
        its commit (named like ours or checked out in our worktrees folder, and holding no
        commit main lacks, so deleting it loses nothing)."""
        if "\nFlywheel-Base: " in str(head.commit.message):
            return True
        ours = bool(_CANDIDATE_BRANCH.fullmatch(head.name)) or (
            worktree is not None
            and worktree.resolve().is_relative_to(self.info.worktrees.resolve())
        )
        if not ours:
            return False
        try:
            repo.git.merge_base("--is-ancestor", head.commit.hexsha, self.info.main)
        except git.GitCommandError:
            return False
        return True

    def candidate_branches(self) -> list[str]:
        with self.repo() as repo:
            return sorted(head.name for head in repo.heads if head.name.startswith("flywheel/"))


def _worktrees_by_branch(repo: git.Repo) -> dict[str, Path]:
    """Branch name -> the path of the worktree that has it checked out."""
    found: dict[str, Path] = {}
    path: Path | None = None
    for line in str(repo.git.worktree("list", "--porcelain")).splitlines():
        if line.startswith("worktree "):
            path = Path(line[len("worktree ") :])
        elif line.startswith("branch refs/heads/") and path is not None:
            found[line[len("branch refs/heads/") :]] = path
    return found


def _git_reason(exc: git.GitCommandError) -> str:
    text = str(exc.stderr or exc.stdout or exc).strip()
    return " ".join(text.split())[:300]


def now() -> datetime:
    return datetime.now(UTC)
