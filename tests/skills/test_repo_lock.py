"""repo_lock: one holder at a time across processes; a person's wait is bounded, a worker's not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from skills.worktrees import WorktreeError, lock_wait_limit, repo_lock

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()  # released when the test says so
"""


@pytest.fixture
def held(tmp_path: Path):
    """Another process (a worker's fetch, say) holds the repository's lock until released."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(repo / ".git")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    try:
        yield repo, holder
    finally:
        holder.kill()
        holder.wait()


def test_a_bounded_wait_gives_up_saying_the_repository_is_busy(held):
    repo, _ = held
    busy = pytest.raises(WorktreeError, match="is busy: another process")
    with lock_wait_limit(0.3), busy, repo_lock(repo):
        pass


def test_the_lock_is_taken_once_the_holder_lets_go(held):
    repo, holder = held
    holder.stdin.write("\n")
    holder.stdin.flush()
    # Unbounded (a worker): waits for the holder, however long it takes, then holds it.
    with repo_lock(repo):
        assert holder.wait(timeout=30) == 0
    with lock_wait_limit(0.3), repo_lock(repo):
        pass  # free now: a bounded wait takes it at once
