"""Shipping in the configuration repository: a merge commit on main with trailers, a revert.

The one module that speaks git (through GitPython). When main is checked out in the
repository's own working tree the merge happens there (it must be clean); otherwise in a
temporary detached worktree, and main moves with a compare-and-swap ``update-ref`` so a
concurrent push is never overwritten.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flywheel.errors import UserError

if TYPE_CHECKING:
    import git

MAIN = "main"


def _repo(path: str) -> git.Repo:
    import git

    try:
        return git.Repo(path)
    except (git.NoSuchPathError, git.InvalidGitRepositoryError):
        raise UserError(
            f"{path} is not a git repository (the candidate's configuration repo)"
        ) from None


def _env(user: str) -> dict[str, str]:
    email = f"{user}@flywheel.invalid"
    return {
        "GIT_AUTHOR_NAME": user,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": "Flywheel",
        "GIT_COMMITTER_EMAIL": "flywheel@flywheel.invalid",
    }


def main_head(repo_path: str, main: str = MAIN) -> str:
    import git

    repo = _repo(repo_path)
    try:
        return str(repo.commit(main).hexsha)
    except (git.BadName, ValueError):
        raise UserError(f"{repo_path} has no branch '{main}'") from None


def commit_message(subject: str, body: str, trailers: list[tuple[str, str]]) -> str:
    """A commit message whose last paragraph is git trailers (``git interpret-trailers``)."""
    lines = "\n".join(f"{key}: {value}" for key, value in trailers)
    parts = [subject, body.strip(), lines]
    return "\n\n".join(part for part in parts if part) + "\n"


def trailer_values(repo_path: str, key: str) -> list[str]:
    """Every value of trailer ``key`` in the commits of all the repository's branches."""
    repo = _repo(repo_path)
    text = repo.git.log("--all", f"--format=%(trailers:key={key},valueonly,separator=%x1f)%x1e")
    return [
        value.strip()
        for entry in str(text).split("\x1e")
        for value in entry.split("\x1f")
        if value.strip()
    ]


@contextmanager
def _on_main(repo_path: str, main: str) -> Iterator[tuple[git.Repo, Callable[[], None]]]:
    """A working tree whose HEAD is main, and a function that publishes its HEAD as main."""
    import git

    repo = _repo(repo_path)
    checked_out = not repo.bare and not repo.head.is_detached and repo.active_branch.name == main
    if checked_out:
        if repo.is_dirty(untracked_files=False):
            raise UserError(f"{repo_path}: {main} has uncommitted changes; commit or discard them")
        yield repo, lambda: None
        return
    old = main_head(repo_path, main)
    with tempfile.TemporaryDirectory(prefix="flywheel-ship-") as tmp:
        tree = str(Path(tmp) / "main")
        repo.git.worktree("add", "--detach", tree, main)
        try:
            work = git.Repo(tree)

            def publish() -> None:
                repo.git.update_ref(f"refs/heads/{main}", work.head.commit.hexsha, old)

            yield work, publish
        finally:
            repo.git.worktree("remove", "--force", tree)


def merge_branch(repo_path: str, branch: str, *, user: str, message: str, main: str = MAIN) -> str:
    """Merge ``branch`` into main as a merge commit (never a fast-forward); its sha."""
    import git

    with _on_main(repo_path, main) as (work, publish):
        try:
            with work.git.custom_environment(**_env(user)):
                work.git.merge("--no-ff", "-m", message, branch)
        except git.GitCommandError as exc:
            if "conflict" in str(exc).lower():
                work.git.merge("--abort")
                raise UserError(
                    f"{branch} no longer merges cleanly into main; re-gate the candidate"
                ) from None
            raise UserError(f"git merge of {branch} failed: {exc.stderr.strip()}") from None
        publish()
        return str(work.head.commit.hexsha)


class MergeConflict(UserError):
    """Main's changes and the candidate's touch the same lines: a person must rework it."""

    def __init__(self, message: str, files: list[str]) -> None:
        super().__init__(message)
        self.files = files


def branch_worktree(repo_path: str, branch: str) -> Path | None:
    """The working tree where ``branch`` is checked out (an optimizer's worktree), if any."""
    porcelain = _repo(repo_path).git.worktree("list", "--porcelain")
    tree: Path | None = None
    for line in porcelain.splitlines():
        if line.startswith("worktree "):
            tree = Path(line.removeprefix("worktree "))
        elif line == f"branch refs/heads/{branch}" and tree is not None:
            return tree
    return None


@contextmanager
def _on_branch(repo_path: str, branch: str) -> Iterator[git.Repo]:
    """A clean working tree with ``branch`` checked out: its own worktree, else a temporary."""
    import git

    repo = _repo(repo_path)
    tree = branch_worktree(repo_path, branch)
    if tree is not None:
        work = git.Repo(tree)
        if work.is_dirty(untracked_files=False):
            raise UserError(f"{tree}: {branch} has uncommitted changes; commit or discard them")
        yield work
        return
    with tempfile.TemporaryDirectory(prefix="flywheel-regate-") as tmp:
        path = str(Path(tmp) / "branch")
        repo.git.worktree("add", path, branch)
        try:
            yield git.Repo(path)
        finally:
            repo.git.worktree("remove", "--force", path)


def merge_main_into(repo_path: str, branch: str, *, main_sha: str, user: str, message: str) -> str:
    """Bring ``branch`` up to ``main_sha`` with a merge commit on the branch; its new head.

    A merge rather than a rebase: the commits that were gated keep their ids, and a branch
    already containing ``main_sha`` is left as it is. A conflict aborts the merge (the branch
    is unchanged) and raises `MergeConflict` naming the files.
    """
    import git

    with _on_branch(repo_path, branch) as work:
        if work.is_ancestor(work.commit(main_sha), work.head.commit):
            return str(work.head.commit.hexsha)
        try:
            with work.git.custom_environment(**_env(user)):
                work.git.merge("--no-ff", "-m", message, main_sha)
        except git.GitCommandError as exc:
            files = work.git.diff("--name-only", "--diff-filter=U").split()
            if files or "conflict" in str(exc).lower():
                work.git.merge("--abort")
                raise MergeConflict(
                    f"{branch} conflicts with main at {main_sha[:12]} in "
                    f"{', '.join(files) or 'its files'}; the fix must be reworked on the new main",
                    files,
                ) from None
            raise UserError(
                f"git merge of main into {branch} failed: {exc.stderr.strip()}"
            ) from None
        return str(work.head.commit.hexsha)


@contextmanager
def checked_out(repo_path: str, revision: str) -> Iterator[Path]:
    """A temporary detached working tree of ``revision`` (removed on exit)."""
    repo = _repo(repo_path)
    with tempfile.TemporaryDirectory(prefix="flywheel-tree-") as tmp:
        path = Path(tmp) / "tree"
        repo.git.worktree("add", "--detach", str(path), revision)
        try:
            yield path
        finally:
            repo.git.worktree("remove", "--force", str(path))


def branch_diff(repo_path: str, main: str, branch: str) -> str:
    """What merging ``branch`` would change on ``main`` (``git diff main...branch``)."""
    return str(_repo(repo_path).git.diff(f"{main}...{branch}"))


def revert_merge(
    repo_path: str, merge_sha: str, *, user: str, message: str, main: str = MAIN
) -> str:
    """Undo a shipped merge with a revert commit on main (history is kept); its sha."""
    import git

    with _on_main(repo_path, main) as (work, publish):
        try:
            with work.git.custom_environment(**_env(user)):
                work.git.revert("-m", "1", "--no-commit", merge_sha)
                work.git.commit("-m", message)
        except git.GitCommandError as exc:
            work.git.revert("--abort")
            raise UserError(
                f"reverting {merge_sha[:12]} conflicts with later changes on main; "
                f"revert it by hand ({exc.stderr.strip()})"
            ) from None
        publish()
        return str(work.head.commit.hexsha)
