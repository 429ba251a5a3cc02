"""Scratch git worktrees under settings.WATTSON_WORK_DIR: the one helper, with the repository lock.

The solver validates in them and the fix branch commits in them. A worktree is detached at a
commit, so the user's work tree, index and branches are never touched, and it is removed
afterwards even on error. `git worktree add/remove` edit the repository's own bookkeeping
(`.git/worktrees`), so they are serialised per repository across threads and processes.
The sweeper in reviews removes what a killed process left behind, by the name prefixes below.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from skills.gitio import GitError, run_git

# Name prefixes under WATTSON_WORK_DIR: the solver's validation worktrees, approvals' fix ones.
SOLVE_PREFIX = "solve-"
FIX_PREFIX = "fix-"
# Hooks in a registered repository must not run inside Wattson's process.
NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")


class WorktreeError(GitError):
    """A scratch worktree could not be made (no such branch or commit, git failed)."""


def work_dir() -> Path:
    """Where scratch worktrees live, read at call time (tests point it at a temporary dir)."""
    return Path(settings.WATTSON_WORK_DIR)


@contextmanager
def repo_lock(repo_path: str | Path) -> Iterator[None]:
    """Serialise worktree bookkeeping per repository across threads and processes.

    The lock is taken on the repository's directory itself, so no lock file is left behind.
    """
    try:
        fd = os.open(Path(repo_path).resolve(), os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise WorktreeError(f"cannot open repository {repo_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def scratch_worktree(
    repo_path: str | Path, ref: str, *, prefix: str = SOLVE_PREFIX
) -> Iterator[Path]:
    """A detached worktree of `ref` (a branch or a commit), removed afterwards even on error."""
    if not ref or ref.startswith("-"):
        raise WorktreeError(f"{ref!r} is not a branch name")
    base = work_dir()
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"{prefix}{uuid.uuid4().hex[:12]}"
    try:
        with repo_lock(repo_path):
            run_git(
                repo_path,
                *NO_HOOKS,
                "worktree",
                "add",
                "--detach",
                "--quiet",
                str(path),
                f"{ref}^{{commit}}",
            )
    except GitError as exc:
        shutil.rmtree(path, ignore_errors=True)
        raise WorktreeError(f"cannot create a scratch worktree of {ref}: {exc}") from None
    try:
        yield path
    finally:
        with repo_lock(repo_path):
            run_git(repo_path, "worktree", "remove", "--force", str(path), check=False)
            shutil.rmtree(path, ignore_errors=True)
            run_git(repo_path, "worktree", "prune", check=False)


def worktree_reset(worktree: str | Path) -> None:
    """Back to the clean head: the next candidate starts from the same code."""
    run_git(worktree, "reset", "--hard", "--quiet", "HEAD")
    run_git(worktree, "clean", "-fdxq")


def worktree_diff(worktree: str | Path, *paths: str) -> str:
    """The work tree's change as a patch with a/ b/ paths, whatever the repo's diff config says."""
    return run_git(
        worktree,
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--",
        *paths,
    ).stdout


def head_commit(worktree: str | Path) -> str:
    return run_git(worktree, "rev-parse", "HEAD").stdout.strip()
