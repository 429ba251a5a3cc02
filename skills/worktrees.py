"""Scratch git worktrees under settings.WATTSON_WORK_DIR: the one helper, with the repository lock.

The solver validates in them and the fix branch commits in them. A worktree is detached at a
commit, so the user's work tree, index and branches are never touched, and it is removed
afterwards even on error. `git worktree add/remove` edit the repository's own bookkeeping
(`.git/worktrees`), so they are serialised per repository across threads and processes.
The sweeper in reviews removes what a killed process left behind, by the name prefixes below.
A URL repository's worktrees are cut from this machine's mirror of it (skills.mirrors), whose
missing blobs are fetched as the worktree is checked out.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from django.conf import settings

from skills.gitio import GitError, git_dirs, run_git, transport_env

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


def mirror_dir() -> Path:
    """Where this machine's mirrors of URL repositories live (skills.mirrors), read at call time."""
    return Path(settings.WATTSON_MIRROR_DIR)


def mirror_transport_env(repo_path: str | Path) -> dict[str, str]:
    """Credentials for the lazy fetches of one of our partial mirrors (or its worktrees).

    A partial clone fetches missing blobs when a worktree is checked out; only a repository under
    our own mirror directory gets its origin's credentials: a registered local repository's
    config is not trusted to name the host they go to.
    """
    dirs = git_dirs(repo_path)
    if dirs is None or not dirs[0].is_relative_to(mirror_dir().resolve()):
        return {}
    url = run_git(dirs[0], "config", "--get", "remote.origin.url", check=False).stdout.strip()
    return transport_env(url) if url else {}


# How long repo_lock waits for another process's hold before giving up; None waits as long as it
# takes (a worker: whoever holds it is bounded by its own timeouts). Pages and approvals set it.
_LOCK_WAIT: ContextVar[float | None] = ContextVar("wattson_repo_lock_wait", default=None)


@contextmanager
def lock_wait_limit(seconds: float | None) -> Iterator[None]:
    """Within this block repo_lock gives up after `seconds` with a WorktreeError saying why."""
    token = _LOCK_WAIT.set(seconds)
    try:
        yield
    finally:
        _LOCK_WAIT.reset(token)


def _flock(fd: int, repo_path: str | Path) -> None:
    limit = _LOCK_WAIT.get()
    if limit is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    end = time.monotonic() + limit
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= end:
                raise WorktreeError(
                    f"the repository {repo_path} is busy: another process (a solve or a fetch) "
                    f"has held it for over {limit:g} s; try again in a moment"
                ) from None
            time.sleep(0.05)


@contextmanager
def repo_lock(repo_path: str | Path) -> Iterator[None]:
    """Serialise worktree bookkeeping and fetches per repository across threads and processes.

    The lock is taken on the repository's common git directory (shared by all its worktrees, so
    a mirror's fetch and a worktree cut from it take the same lock), or on the directory itself
    when it is not a repository yet; no lock file is left behind.
    """
    dirs = git_dirs(repo_path)
    target = dirs[0] if dirs is not None else Path(repo_path).resolve()
    try:
        fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise WorktreeError(f"cannot open repository {repo_path}: {exc.strerror}") from None
    try:
        _flock(fd, repo_path)
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
                env=mirror_transport_env(repo_path),
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
