"""The sweeper removes scratch worktrees a killed process left behind, and only old ones."""

import os
import time

import pytest

from reviews.services.solving import sweep_solve_runs


@pytest.mark.django_db
def test_old_solve_and_fix_worktrees_are_removed_fresh_ones_kept(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path
    old = time.time() - 10 * 24 * 3600
    leftovers = [tmp_path / "solve-abc", tmp_path / "fix-def"]
    for path in leftovers:
        (path / "pkg").mkdir(parents=True)
        os.utime(path, (old, old))
    live = tmp_path / "fix-live"
    live.mkdir()
    unrelated = tmp_path / "notes"
    unrelated.mkdir()
    os.utime(unrelated, (old, old))

    sweep_solve_runs()

    assert not any(path.exists() for path in leftovers)
    assert live.exists()  # a running approval's worktree
    assert unrelated.exists()  # not ours to remove
