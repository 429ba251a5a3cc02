"""No hooks, anywhere: nothing a repository's .git/config or .git/hooks names ever runs.

Each planted command appends its name to a marker file; validation (worktree creation, apply,
tests, reset), a commit in a scratch worktree (as the fix branch makes), diff/show/log and a
fetch all go through run_git, and the marker file must stay empty.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from skills.gitio import run_git
from skills.solver.validation import validate
from skills.worktrees import scratch_worktree

HOOKS = (
    "post-checkout",
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "reference-transaction",
    "post-index-change",
    "pre-auto-gc",
    "post-rewrite",
    "pre-push",
)


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout


def _script(path: Path, name: str, marker: Path) -> str:
    # Filters must still pass content through, or git would fail before we could tell.
    path.write_text(f"#!/bin/sh\necho {name} >> {marker}\ncat 2>/dev/null\nexit 0\n")
    path.chmod(0o755)
    return str(path)


def _plant(repo: Path, tmp_path: Path) -> Path:
    marker = tmp_path / "ran.txt"
    marker.write_text("")
    bin_dir = tmp_path / "evil-bin"
    bin_dir.mkdir()
    hooks_dir = tmp_path / "evil-hooks"
    hooks_dir.mkdir()
    for hook in HOOKS:
        _script(repo / ".git" / "hooks" / hook, f"hook:{hook}", marker)
        _script(hooks_dir / hook, f"hooksPath:{hook}", marker)
    config = {
        "core.hooksPath": str(hooks_dir),
        "core.fsmonitor": _script(bin_dir / "fsmonitor", "fsmonitor", marker),
        "core.sshCommand": _script(bin_dir / "ssh", "sshCommand", marker),
        "core.pager": _script(bin_dir / "pager", "pager", marker),
        "diff.external": _script(bin_dir / "extdiff", "diff.external", marker),
        "diff.evil.command": _script(bin_dir / "diffcmd", "diff.evil.command", marker),
        "diff.evil.textconv": _script(bin_dir / "textconv", "textconv", marker),
        "filter.evil.clean": _script(bin_dir / "clean", "filter.clean", marker),
        "filter.evil.smudge": _script(bin_dir / "smudge", "filter.smudge", marker),
        "filter.evil.process": _script(bin_dir / "process", "filter.process", marker),
        "credential.helper": "!" + _script(bin_dir / "cred", "credential", marker),
        "remote.origin.url": str(tmp_path / "upstream"),
        "remote.origin.uploadpack": _script(bin_dir / "upload", "uploadpack", marker),
        "remote.origin.receivepack": _script(bin_dir / "receive", "receivepack", marker),
    }
    for key, value in config.items():
        git(repo, "config", key, value)
    return marker


def test_nothing_a_repository_configures_runs_through_wattsons_git(tmp_path, settings):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_SANDBOX = "off"  # git hygiene alone: the repository's tests run as usual
    upstream = tmp_path / "upstream"
    repo = tmp_path / "repo"
    for path in (upstream, repo):
        path.mkdir()
        git(path, "init", "-q", "-b", "main")
        (path / "calc.py").write_text("def double(x):\n    return x * 2\n")
        (path / ".gitattributes").write_text("* filter=evil diff=evil\n")
        git(path, "add", ".")
        git(path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init")
    marker = _plant(repo, tmp_path)
    diff = (
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
        " def double(x):\n-    return x * 2\n+    return x + x\n"
    )
    # Validation: worktree creation (checkout), apply, a test command, reset, removal.
    result = validate(repo, "main", diff, test_cmd="python3 -c 'print(1)'")
    assert result.applies and result.tests_passed is True
    # A commit on a fix branch in a scratch worktree, then diff, show and log of it.
    identity = {
        "GIT_AUTHOR_NAME": "Bot",
        "GIT_AUTHOR_EMAIL": "bot@e",
        "GIT_COMMITTER_NAME": "Bot",
        "GIT_COMMITTER_EMAIL": "bot@e",
    }
    with scratch_worktree(repo, "main") as worktree:
        run_git(worktree, "apply", "-", input_text=diff)
        run_git(worktree, "diff")
        run_git(worktree, "add", "-A")
        run_git(worktree, "commit", "-qm", "fix", env=identity)
        run_git(worktree, "branch", "wattson/fix-1")
        run_git(worktree, "show", "HEAD")
        run_git(worktree, "log", "-p", "-1")
        run_git(worktree, "status")
    run_git(repo, "diff", "main", "wattson/fix-1")
    run_git(repo, "fetch", "-q", "origin")
    assert "wattson/fix-1" in git(repo, "branch", "--list")
    assert marker.read_text() == ""
    # The planted commands do run under plain git: the test would catch a regression.
    git(repo, "diff", "main", "wattson/fix-1")
    assert marker.read_text() != ""
