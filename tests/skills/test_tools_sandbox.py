"""The sandbox: no tool reads outside the repository, runs away, or takes an option from input."""

from __future__ import annotations

import os
import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest

from skills.tools import MAX_OUTPUT_BYTES, RepoSandbox, ToolError, call_tool


@pytest.fixture
def repo(scenario) -> Path:
    return scenario("label_regex")["path"]


@pytest.fixture
def sandbox(repo) -> RepoSandbox:
    return RepoSandbox(repo)


def error_of(sandbox: RepoSandbox, name: str, **arguments) -> str:
    text, record = call_tool(sandbox, name, arguments)
    assert text == f"error: {record.error}"
    assert record.error, f"{name} {arguments} was not refused: {text[:200]}"
    return record.error


@pytest.mark.parametrize(
    "path, complaint",
    [
        ("../etc/passwd", "contains '..'"),
        ("shipping/../../etc/passwd", "contains '..'"),
        ("/etc/passwd", "absolute path"),
        ("C:/Windows/win.ini", "absolute path"),
        (".git/config", "points into .git"),
        ("./.git/HEAD", "points into .git"),
        (".GIT/config", "points into .git"),
        ("shipping\\..\\..\\etc\\passwd", "contains '..'"),
    ],
)
def test_escaping_paths_are_refused(sandbox, path, complaint):
    for tool in ("read_file", "outline_file", "git_log", "blame"):
        assert complaint in error_of(sandbox, tool, path=path)
    assert complaint in error_of(sandbox, "file_at_revision", path=path, rev="HEAD")
    with pytest.raises(ToolError, match=complaint):
        sandbox.resolve(path)


def test_a_symlink_to_a_file_outside_is_refused(repo, sandbox):
    (repo / "passwd_link").symlink_to("/etc/passwd")
    message = error_of(sandbox, "read_file", path="passwd_link")
    assert message == "path 'passwd_link' resolves outside the repository and is refused"


def test_a_symlinked_directory_escape_is_refused(repo, sandbox, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("TOKEN = 'do not read'\n")
    (repo / "shipping" / "vendor").symlink_to(outside, target_is_directory=True)
    (repo / "etc").symlink_to("/etc", target_is_directory=True)
    assert "resolves outside" in error_of(sandbox, "read_file", path="shipping/vendor/secret.py")
    assert "resolves outside" in error_of(sandbox, "outline_file", path="shipping/vendor/secret.py")
    assert "resolves outside" in error_of(sandbox, "read_file", path="etc/passwd")
    # Even committed, a link is searched as a link: git grep never follows it out of the tree.
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "shipping/vendor", "etc"], check=True)
    subprocess.run([*git, "commit", "-qm", "vendor link"], check=True)
    text, record = call_tool(sandbox, "search_code", {"pattern": "do not read|root:x:0"})
    assert text.startswith("no matches"), text


def test_a_symlink_into_git_metadata_is_refused(repo, sandbox):
    (repo / "config_link").symlink_to(repo / ".git" / "config")
    assert "points into .git" in error_of(sandbox, "read_file", path="config_link")


def test_a_symlink_that_stays_inside_is_followed(repo, sandbox):
    (repo / "labels_link.py").symlink_to("shipping/labels.py")
    text, record = call_tool(sandbox, "read_file", {"path": "labels_link.py", "end_line": 2})
    assert record.error == ""
    assert text.startswith("shipping/labels.py (lines 1-2 of 39")


def test_a_50_mb_file_is_read_by_range_quickly_and_capped(repo, sandbox):
    big = repo / "data" / "big.csv"
    big.parent.mkdir()
    line = b"sku,price,description " + b"x" * 77 + b"\n"  # 100 bytes
    with big.open("wb") as handle:
        handle.write(line * (50 * 1024 * 1024 // len(line)))
    assert big.stat().st_size > 50_000_000

    tracemalloc.start()
    started = time.perf_counter()
    text, record = call_tool(sandbox, "read_file", {"path": "data/big.csv", "end_line": 2000})
    tail, tail_record = call_tool(
        sandbox, "read_file", {"path": "data/big.csv", "start_line": 524_000}
    )
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert record.error == "" and tail_record.error == ""
    assert len(text.encode()) <= MAX_OUTPUT_BYTES + 200
    assert "[truncated]" in text
    assert text.startswith("data/big.csv (lines 1-2000 of 524288;")
    assert tail.splitlines()[-1].startswith("524288  sku,price")
    # Generous for a loaded CI machine; the memory bound below is the sharper check.
    assert elapsed < 10, f"reading a 50 MB file took {elapsed:.1f}s"
    assert peak < 8 * 1024 * 1024, f"reading a 50 MB file held {peak / 1e6:.0f} MB"


def test_a_single_huge_line_is_cut(repo, sandbox):
    (repo / "minified.js").write_bytes(b"var a=1;" * (4 * 1024 * 1024) + b"\nend\n")
    started = time.perf_counter()
    text, record = call_tool(sandbox, "read_file", {"path": "minified.js"})
    assert record.error == ""
    assert time.perf_counter() - started < 5
    assert "… [line truncated]" in text
    assert text.splitlines()[-1] == "2  end"
    assert len(text) < 4000


def test_binary_and_non_utf8_files_get_a_clear_message(repo, sandbox):
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(64))
    (repo / "latin1.py").write_bytes("# café\nprint('é')\n".encode("latin-1"))
    assert error_of(sandbox, "read_file", path="logo.png") == (
        "logo.png is a binary file; tools only read text files"
    )
    assert error_of(sandbox, "read_file", path="latin1.py") == (
        "latin1.py is not UTF-8 text; tools only read text files"
    )
    assert "binary" in error_of(sandbox, "outline_file", path="logo.png")


def test_option_injection_in_a_search_pattern_is_just_a_pattern(repo, sandbox, tmp_path):
    target = tmp_path / "injected"
    for pattern in (f"--output={target}", "-f/etc/passwd", "--open-files-in-pager=touch x"):
        text, record = call_tool(sandbox, "search_code", {"pattern": pattern})
        assert record.error == "", record.error
        assert text.startswith("no matches")
    assert not target.exists()
    assert not (repo / "x").exists()


@pytest.mark.parametrize(
    "rev", ["--output=/tmp/wattson-injected", "-p", "--all", "HEAD..main", "HEAD main", ""]
)
def test_option_injection_and_ranges_in_a_revision_are_refused(sandbox, rev):
    message = error_of(sandbox, "file_at_revision", path="shipping/labels.py", rev=rev)
    assert "revision" in message or rev == ""
    if rev:
        assert "revision" in error_of(sandbox, "root_cause_commit", sha=rev)
        assert "revision" in error_of(sandbox, "blame", path="shipping/labels.py", rev=rev)
    assert not Path("/tmp/wattson-injected").exists()


def test_option_looking_paths_stay_paths(sandbox, tmp_path):
    target = tmp_path / "log-output"
    text, record = call_tool(sandbox, "git_log", {"path": f"--output={target}"})
    # "--output=/..." is a relative path whose first part is "--output="; git gets it after "--",
    # as a path that no commit touches, never as an option.
    assert record.error == ""
    assert text.startswith("no commits touch --output=")
    assert not target.exists()
    assert "no commits" in call_tool(sandbox, "git_log", {"path": "--stat"})[0]


@pytest.mark.parametrize("glob", ["../*", ":(top)*", ":!shipping", ".git/*", "/etc/*"])
def test_search_path_globs_are_confined(sandbox, glob):
    error_of(sandbox, "search_code", pattern="root", path=glob)


def test_a_git_command_that_times_out_is_an_error_not_a_hang(repo):
    hasty = RepoSandbox(repo, git_timeout=1e-6)
    started = time.perf_counter()
    message = error_of(hasty, "search_code", pattern="(a|aa)*b")
    assert message.startswith("git grep timed out after 1e-06s")
    assert str(repo) not in message
    assert "timed out" in error_of(hasty, "git_log")
    assert time.perf_counter() - started < 5


def test_the_sandbox_root_must_exist(tmp_path):
    with pytest.raises(ToolError, match="is not a directory"):
        RepoSandbox(tmp_path / "missing")


def test_git_runs_without_any_transport(sandbox):
    # Even a partial clone could not fetch missing objects: no protocol is allowed.
    assert sandbox.git("config", "--get", "protocol.allow").strip() == "never"
    assert sandbox.git("config", "--get", "core.fsmonitor").strip() == "false"
