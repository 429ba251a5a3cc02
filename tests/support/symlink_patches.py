"""Hostile diffs about symlinks and file modes, printed by git itself from a real repository.

Each is a genuine fix with a rider: the rider retargets, deletes or creates a symlink, or makes
a file executable. Some riders state the mode (git's own output); others are the same edit with
the mode left out, which only a look at the repository's tree can catch.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

LINK = "link"
LINK_TARGET = "old/target"
HOSTILE_TARGET = "/etc/shadow"


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Base Author",
        "GIT_AUTHOR_EMAIL": "base@example.com",
        "GIT_COMMITTER_NAME": "ci",
        "GIT_COMMITTER_EMAIL": "ci@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def add_symlink(repo: Path) -> None:
    """Commit `link -> old/target` on the current branch (a repository may hold symlinks)."""
    os.symlink(LINK_TARGET, repo / LINK)
    _git(repo, "add", LINK)
    _git(repo, "commit", "-q", "-m", "Add a symlink")


def _diff(repo: Path) -> str:
    return _git(repo, "diff", "--no-color", "--src-prefix=a/", "--dst-prefix=b/")


def _restore(repo: Path) -> None:
    _git(repo, "checkout", "-q", "HEAD", "--", ".")


def _without_modes(diff: str) -> str:
    """The same edit with the mode unstated: `index a..b 120000` -> `index a..b`."""
    return re.sub(r"^(index [0-9a-f]+\.\.[0-9a-f]+) \d{6}$", r"\1", diff, flags=re.M)


def _bare(diff: str) -> str:
    """Only `---`/`+++` and hunks, as `diff -u` prints: no git header at all."""
    kept = [
        line
        for line in diff.splitlines(keepends=True)
        if not line.startswith(("diff --git ", "index ", "deleted file mode ", "new file mode "))
    ]
    return "".join(kept)


def hostile_diffs(repo: Path, *, fix_path: str, fixed_text: str) -> dict[str, str]:
    """name -> a diff that makes `fix_path` read `fixed_text` and also does something unsafe.

    `repo` holds `link -> old/target` (add_symlink) and a clean work tree, left as it was.
    """
    target = repo / fix_path
    original = target.read_text()
    target.write_text(fixed_text)
    fix = _diff(repo)
    target.write_text(original)
    link = repo / LINK
    riders: dict[str, str] = {}
    try:
        link.unlink()
        os.symlink(HOSTILE_TARGET, link)
        riders["symlink-retarget"] = _diff(repo)
        link.unlink()
        riders["symlink-delete"] = _diff(repo)
        _restore(repo)
        readme = next(
            p for p in sorted(repo.iterdir()) if p.is_file() and not p.is_symlink() and p != target
        )
        readme.unlink()
        os.symlink(HOSTILE_TARGET, readme)
        riders["file-to-symlink"] = _diff(repo)  # git prints a delete and a new 120000 file
        _restore(repo)
        riders["file-to-symlink-mode-lines"] = (
            f"diff --git a/{readme.name} b/{readme.name}\nold mode 100644\nnew mode 120000\n"
        )
        target.write_text(fixed_text)
        target.chmod(0o755)
        chmod_fix = _diff(repo)  # the mode change sits in the fix's own header
    finally:
        target.chmod(0o644)
        _restore(repo)
    assert "new mode 100755" in chmod_fix and "index " in riders["symlink-retarget"]
    cases = {name: fix + rider for name, rider in riders.items()}
    cases["chmod-hidden-in-a-fix"] = chmod_fix
    cases["symlink-retarget-mode-unstated"] = fix + _without_modes(riders["symlink-retarget"])
    cases["symlink-retarget-bare"] = fix + _bare(riders["symlink-retarget"])
    cases["symlink-delete-bare"] = fix + _bare(riders["symlink-delete"])
    return cases


HOSTILE_NAMES = (
    "symlink-retarget",
    "symlink-retarget-mode-unstated",
    "symlink-retarget-bare",
    "symlink-delete",
    "symlink-delete-bare",
    "file-to-symlink",
    "file-to-symlink-mode-lines",
    "chmod-hidden-in-a-fix",
)
# Refused by the diff alone; the others need the repository's tree (check_patch(repo=...)).
SEEN_IN_THE_DIFF = frozenset(
    {
        "symlink-retarget",
        "symlink-delete",
        "file-to-symlink",
        "file-to-symlink-mode-lines",
        "chmod-hidden-in-a-fix",
    }
)
