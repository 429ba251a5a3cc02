"""Repository code runs in a bubblewrap sandbox: every attack of a hostile repository fails.

The hostile repository is built from tests/skills/hostile_repo/; its tests try to read the
worker's secrets, the database and Wattson's source, reach the network, write outside the
worktree, move the real repository's branch, fork-bomb and leave a daemon.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from skills import sandbox
from skills.solver.validation import ValidationError, run_command, validate

HOSTILE = Path(__file__).with_name("hostile_repo")
PROBLEM = sandbox.bubblewrap_problem()
needs_bwrap = pytest.mark.skipif(bool(PROBLEM), reason=f"bubblewrap unusable here: {PROBLEM}")


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout


def _survivors(marker: str) -> str:
    found = subprocess.run(["pgrep", "-af", f"sleep {marker}"], capture_output=True, text=True)
    return found.stdout.strip()


@pytest.fixture
def hostile(tmp_path, settings, monkeypatch):
    """The hostile repository, Wattson's var dir with a database file, canaries in our env."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    settings.VAR_DIR = var_dir
    settings.WATTSON_WORK_DIR = var_dir / "work"
    settings.WATTSON_SANDBOX = "required"
    settings.WATTSON_SANDBOX_MAX_PROCESSES = 64
    canaries = {
        "ANTHROPIC_API_KEY": f"CANARY-key-{secrets.token_hex(8)}",
        "WATTSON_SOURCE_SECRETS": json.dumps({"src": f"CANARY-hmac-{secrets.token_hex(8)}"}),
    }
    for name, value in canaries.items():
        monkeypatch.setenv(name, value)
    database = var_dir / "wattson.sqlite3"
    database.write_text(f"CANARY-database-{secrets.token_hex(8)}")
    listener = socket.create_server(("127.0.0.1", 0))
    repo = tmp_path / "repo"
    shutil.copytree(HOSTILE, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init")
    git(
        repo,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "2",
    )
    other = git(repo, "rev-parse", "HEAD~1").strip()
    marker = f"1200.{secrets.randbelow(10**6):06d}"
    targets = {
        "database": str(database),
        "source_settings": str(Path(settings.BASE_DIR) / "console" / "settings.py"),
        "var_dir_file": str(database),
        "port": listener.getsockname()[1],
        "outside_file": str(tmp_path / "outside.txt"),
        "repo": str(repo),
        "other_commit": other,
        "fork_attempts": 400,
        "daemon_seconds": marker,
    }
    (repo / "targets.json").write_text(json.dumps(targets))
    git(repo, "add", "targets.json")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "targets")
    yield {"repo": repo, "canaries": canaries, "targets": targets, "marker": marker}
    listener.close()
    subprocess.run(["pkill", "-f", f"sleep {marker}"], check=False)


@needs_bwrap
def test_every_attack_of_a_hostile_repository_fails_in_the_sandbox(hostile):
    repo, targets = hostile["repo"], hostile["targets"]
    main_before = git(repo, "rev-parse", "refs/heads/main")
    diff = (
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
        " def double(x):\n-    return x * 2\n+    return x + x\n"
    )
    result = validate(
        repo, "main", diff, test_cmd="python3 -m unittest -v", bench_cmd="python3 bench.py"
    )
    log = result.test_log
    # Each attack ran, failed, and the log says so; the repository's own tests pass only then.
    assert result.tests_passed is True, log
    for attack in ("proc-environ", "read-database", "read-source_settings", "write-system"):
        assert f"ATTACK {attack}: blocked" in log
    assert f"ATTACK connect-{targets['port']}: blocked" in log
    assert "ATTACK connect-5432: blocked" in log
    assert "ATTACK fork-bomb: stopped after" in log
    assert result.sandbox_mode == "bubblewrap" and not result.sandbox_warnings
    assert result.bench_after_s == 0.01
    # Nothing of ours leaked into anything Wattson keeps.
    everything = "\n".join((result.apply_log, log, result.bench_log))
    for value in (*hostile["canaries"].values(), Path(targets["database"]).read_text()):
        assert value not in everything
    assert "CANARY" not in everything
    # The real repository did not move and grew no branch; nothing was written outside.
    assert git(repo, "rev-parse", "refs/heads/main") == main_before
    assert "evil" not in git(repo, "branch", "--list")
    assert not Path(targets["outside_file"]).exists()
    # No daemon from the tests or the benchmark outlived its step.
    time.sleep(0.2)
    assert _survivors(hostile["marker"]) == ""


@needs_bwrap
def test_output_and_time_are_capped(tmp_path, settings):
    settings.WATTSON_SANDBOX = "required"
    started = time.monotonic()
    result = run_command("python3 -c 'while True: pass'", cwd=tmp_path, timeout=2)
    assert result.returncode is None and "timed out after 2s" in result.output
    assert time.monotonic() - started < 15
    flood = run_command(
        "python3 -c 'import sys\nwhile True: sys.stdout.write(\"x\" * 65536)'",
        cwd=tmp_path,
        timeout=60,
    )
    assert flood.returncode is not None and flood.returncode != 0
    assert "printed more than" in flood.output


@needs_bwrap
def test_the_sandbox_runs_as_an_unprivileged_user_with_only_the_worktree(tmp_path, settings):
    settings.WATTSON_SANDBOX = "required"
    (tmp_path / "probe.py").write_text(
        "import os, pathlib\n"
        "print('uid', os.getuid(), 'gid', os.getgid())\n"
        "print('root', sorted(p.name for p in pathlib.Path('/').iterdir()))\n"
        "pathlib.Path('made-inside').write_text('x')\n"
    )
    result = run_command("python3 probe.py", cwd=tmp_path, timeout=30)
    assert result.ok, result.output
    assert "uid 65534 gid 65534" in result.output
    assert "'root'" not in result.output.split("root", 1)[1].split("]")[0]
    assert "'work'" not in result.output
    # The command worked on a copy: the worktree itself is as it was.
    assert not (tmp_path / "made-inside").exists()


def test_required_without_bubblewrap_refuses_to_run_with_the_reason(
    tmp_path, settings, monkeypatch
):
    settings.WATTSON_SANDBOX = "required"
    monkeypatch.setattr(sandbox.shutil, "which", lambda name, **kwargs: None)
    with pytest.raises(ValidationError, match="WATTSON_SANDBOX=required and bubblewrap"):
        run_command("python3 -c 'print(1)'", cwd=tmp_path, timeout=10)


def test_auto_without_bubblewrap_runs_and_warns(tmp_path, settings, monkeypatch):
    settings.WATTSON_SANDBOX = "auto"
    real_which = shutil.which
    monkeypatch.setattr(
        sandbox.shutil, "which", lambda name, **kw: None if name == "bwrap" else real_which(name)
    )
    result = run_command("python3 -c 'print(41 + 1)'", cwd=tmp_path, timeout=10)
    assert result.ok and "42" in result.output
    notes = sandbox.sandbox_notes(result.output)
    assert notes["mode"] == "unsandboxed"
    assert "bubblewrap (bwrap) is not installed" in notes["warnings"][0]


def test_off_is_explicit_and_warned(tmp_path, settings):
    settings.WATTSON_SANDBOX = "off"
    result = run_command("python3 -c 'print(1)'", cwd=tmp_path, timeout=10)
    assert result.ok
    assert sandbox.sandbox_notes(result.output)["warnings"] == [
        "WATTSON_SANDBOX=off: this command ran unsandboxed, as the worker"
    ]


def test_a_printed_note_cannot_hide_a_warning():
    log = "[sandbox warning: it ran unsandboxed]\n[sandbox: bubblewrap: all fine]\n"
    assert sandbox.sandbox_notes(log)["mode"] == "unsandboxed"
    assert sandbox.sandbox_notes("no notes here") == {}


def test_the_proposal_page_shows_the_sandbox_warning_escaped(db, client_for, reviewer, tmp_path):
    from django.urls import reverse

    from tests.reviews.test_proposal_page import make_proposal, two_file_change

    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    warned = make_proposal(
        repo_path=repo,
        base=base,
        diff=diff,
        test_log="$ python3 -m unittest\n[sandbox warning: <b>bwrap</b> missing]\nOK\n",
    )
    html = client_for(reviewer).get(reverse("reviews:proposal", args=[warned.pk])).content
    text = html.decode()
    assert 'data-sandbox="unsandboxed"' in text
    assert "ran without the sandbox: &lt;b&gt;bwrap&lt;/b&gt; missing" in text
