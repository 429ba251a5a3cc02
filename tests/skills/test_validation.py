"""Validation in a scratch worktree: apply, tests, benchmark; the user's tree is never touched."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from skills.solver.validation import (
    ValidationError,
    interleave,
    measure_benchmark,
    measure_interleaved,
    parse_seconds,
    run_command,
    validate,
    validate_in_worktree,
)
from skills.worktrees import WorktreeError, scratch_worktree


def git(path: Path, *args: str, input_text: str | None = None) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args],
        check=True,
        capture_output=True,
        text=True,
        input=input_text,
    ).stdout


@pytest.fixture
def repo(tmp_path, settings):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "calc.py").write_text("def double(x):\n    return x * 2\n")
    (path / "test_calc.py").write_text(
        "import unittest\nfrom calc import double\n\n"
        "class T(unittest.TestCase):\n    def test_double(self):\n"
        "        self.assertEqual(double(2), 4)\n"
    )
    (path / "bench.py").write_text("print('seconds: 0.5')\n")
    git(path, "add", ".")
    git(path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    return path


def make_diff(repo: Path, new_text: str) -> str:
    original = (repo / "calc.py").read_text()
    (repo / "calc.py").write_text(new_text)
    diff = git(repo, "diff", "--src-prefix=a/", "--dst-prefix=b/")
    (repo / "calc.py").write_text(original)
    return diff


def test_parse_seconds_takes_the_last_printed_value():
    assert parse_seconds("warming up\nseconds: 0.25\nseconds: 0.125\n") == 0.125
    assert parse_seconds("took 3s") is None


def test_benchmark_median_of_runs_or_wall_time(tmp_path, settings):
    # The script counts its runs in its directory; a sandboxed run starts from a fresh copy.
    settings.WATTSON_SANDBOX = "off"
    script = tmp_path / "b.py"
    script.write_text(
        "import pathlib\np = pathlib.Path('n')\nn = int(p.read_text()) if p.exists() else 0\n"
        "p.write_text(str(n + 1))\nprint(f'seconds: {[0.3, 0.1, 0.2][n]}')\n"
    )
    median, log = measure_benchmark(f"python3 {script}", cwd=tmp_path, runs=3)
    assert median == 0.2
    assert "median of 3" in log
    (tmp_path / "quiet.py").write_text("pass\n")
    wall, log = measure_benchmark("python3 quiet.py", cwd=tmp_path, runs=1)
    assert wall is not None and 0 < wall < 10 and "wall time" in log


def test_failing_benchmark_measures_nothing(tmp_path):
    median, log = measure_benchmark("python3 -c 'raise SystemExit(3)'", cwd=tmp_path, runs=3)
    assert median is None and "exit 3" in log


def test_command_timeout_kills_it_and_says_so(tmp_path):
    started = time.monotonic()
    result = run_command("python3 -c 'import time; time.sleep(30)'", cwd=tmp_path, timeout=1)
    assert time.monotonic() - started < 10
    assert result.returncode is None and not result.ok
    assert "timed out after 1s" in result.output


def test_commands_run_without_a_shell_and_with_a_minimal_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTSON_SECRET_FOR_TEST", "do-not-leak")
    result = run_command(
        "python3 -c 'import os; print(sorted(os.environ))' ; echo pwned", cwd=tmp_path, timeout=30
    )
    # `;` reached python as an argument, not a shell; our environment stayed ours.
    assert "WATTSON_SECRET_FOR_TEST" not in result.output
    assert "pwned" not in result.output


def test_unparseable_or_missing_command_is_a_clear_error(tmp_path):
    with pytest.raises(ValidationError, match="cannot parse"):
        run_command("python3 'unterminated", cwd=tmp_path, timeout=5)
    with pytest.raises(ValidationError, match="cannot run"):
        run_command("no-such-program-wattson", cwd=tmp_path, timeout=5)


def test_good_patch_applies_tests_pass_and_benchmark_runs(repo):
    diff = make_diff(repo, "def double(x):\n    return x + x\n")
    result = validate(
        repo, "main", diff, test_cmd="python3 -m unittest -q", bench_cmd="python3 bench.py"
    )
    assert result.applies and result.tests_passed is True
    assert result.bench_before_s == 0.5 and result.bench_after_s == 0.5
    assert result.base_commit == git(repo, "rev-parse", "HEAD").strip()


def test_patch_that_breaks_tests_fails_and_is_not_benchmarked(repo):
    diff = make_diff(repo, "def double(x):\n    return x * 3\n")
    result = validate(
        repo, "main", diff, test_cmd="python3 -m unittest -q", bench_cmd="python3 bench.py"
    )
    assert result.applies and result.tests_passed is False
    assert "FAILED" in result.test_log and "AssertionError" in result.test_log
    assert result.bench_after_s is None


def test_patch_that_does_not_apply_is_reported(repo):
    diff = make_diff(repo, "def double(x):\n    return x + x\n").replace("x * 2", "x * 7")
    result = validate(repo, "main", diff, test_cmd="python3 -m unittest -q")
    assert not result.applies
    assert result.tests_passed is None
    assert "patch does not apply" in result.apply_log or "error" in result.apply_log


def test_symlink_patches_are_refused(repo):
    diff = (
        "diff --git a/link b/link\nnew file mode 120000\nindex 0000000..1111111\n"
        "--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n"
    )
    result = validate(repo, "main", diff)
    assert not result.applies and "symlink" in result.apply_log


def test_a_patch_touching_ci_configuration_is_refused_before_it_applies(repo):
    # The same check the fix branch makes at approval (skills.patchsafety): it used to pass here.
    diff = make_diff(repo, "def double(x):\n    return x + x\n") + (
        "diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml\n"
        "new file mode 100644\n--- /dev/null\n+++ b/.github/workflows/ci.yml\n"
        "@@ -0,0 +1 @@\n+on: push\n"
    )
    result = validate(repo, "main", diff, test_cmd="python3 -m unittest -q")
    assert not result.applies and not result.passed
    assert "CI configuration" in result.apply_log
    assert result.tests_passed is None  # nothing ran


def test_users_work_tree_and_branches_are_untouched(repo, settings):
    (repo / "calc.py").write_text("def double(x):\n    return x * 2  # user's edit\n")
    git(repo, "checkout", "-qb", "feature")
    diff = make_diff(repo, "def double(x):\n    return x + x  # user's edit\n")
    main_before = git(repo, "rev-parse", "main")
    validate(repo, "main", diff, test_cmd="python3 -m unittest -q")
    assert "user's edit" in (repo / "calc.py").read_text()
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "feature"
    assert git(repo, "rev-parse", "main") == main_before
    assert git(repo, "branch", "--list").split() == ["*", "feature", "main"]
    assert list(Path(settings.WATTSON_WORK_DIR).iterdir()) == []


def test_scratch_worktree_is_removed_even_on_error(repo, settings):
    with pytest.raises(RuntimeError), scratch_worktree(repo, "main") as path:
        assert (path / "calc.py").is_file()
        raise RuntimeError("boom")
    assert not path.exists()
    assert str(path) not in git(repo, "worktree", "list")


def test_option_looking_branch_is_refused(repo):
    with (
        pytest.raises(WorktreeError, match="not a branch name"),
        scratch_worktree(repo, "--lock"),
    ):
        pass


def test_unknown_branch_is_a_clear_error(repo):
    with (
        pytest.raises(WorktreeError, match="no-such-branch"),
        scratch_worktree(repo, "no-such-branch"),
    ):
        pass


def test_interleaved_benchmark_alternates_clean_and_patched_trees(tmp_path):
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    for path, seconds in ((before_dir, "0.4"), (after_dir, "0.1")):
        path.mkdir()
        (path / "bench.py").write_text(f"print('seconds: {seconds}')\n")
    before, after, log = measure_interleaved(
        "python3 bench.py", before_dir=before_dir, after_dir=after_dir, runs=3
    )
    assert (before, after) == (0.4, 0.1)
    order = [line.split()[2] for line in log.splitlines() if line.startswith("run ")]
    assert order == ["before:", "after:"] * 3


def test_interleaved_benchmark_failing_on_the_clean_tree_measures_nothing(tmp_path):
    (tmp_path / "bench.py").write_text("raise SystemExit(2)\n")
    before, after, log = measure_interleaved(
        "python3 bench.py", before_dir=tmp_path, after_dir=tmp_path, runs=3
    )
    assert before is None and after is None and "exit 2" in log


def test_validation_with_a_baseline_checkout_measures_both_sides(repo):
    diff = make_diff(repo, "def double(x):\n    return x + x\n")
    with scratch_worktree(repo, "main") as work, scratch_worktree(repo, "main") as baseline:
        result = validate_in_worktree(
            work,
            diff,
            test_cmd="python3 -m unittest -q",
            bench_cmd="python3 bench.py",
            bench_runs=2,
            baseline_dir=baseline,
        )
    assert result.tests_passed and result.bench_before_s == 0.5 and result.bench_after_s == 0.5
    assert "median of 2" in result.bench_log


def _sequence_bench(path: Path, values: list[float]) -> None:
    """A bench.py that prints the next of `values` on each run."""
    path.mkdir()
    (path / "bench.py").write_text(
        "import pathlib\np = pathlib.Path('n')\nn = int(p.read_text()) if p.exists() else 0\n"
        f"p.write_text(str(n + 1))\nprint(f'seconds: {{{values!r}[n]}}')\n"
    )


def test_noisy_benchmark_gets_more_pairs_before_a_verdict(tmp_path, settings):
    # The script counts its runs in its directory; a sandboxed run starts from a fresh copy.
    settings.WATTSON_SANDBOX = "off"
    # The first pairs overlap (one "after" run is slower than a "before" one): undecided, so
    # more pairs are run until the one-sided test says faster (after the sixth pair here).
    _sequence_bench(tmp_path / "before", [0.3, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3])
    _sequence_bench(tmp_path / "after", [0.12, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    measured = interleave(
        "python3 bench.py",
        before_dir=tmp_path / "before",
        after_dir=tmp_path / "after",
        runs=3,
        max_runs=8,
        min_speedup=1.05,
        alpha=0.05,
    )
    assert measured.judgement is not None and measured.judgement.verdict == "faster"
    assert len(measured.before) == len(measured.after) > 3
    assert "median of" in measured.log and "p = " in measured.log


def test_clear_benchmark_stops_at_the_first_look_that_can_decide(tmp_path):
    _sequence_bench(tmp_path / "before", [0.3] * 8)
    _sequence_bench(tmp_path / "after", [0.1] * 8)
    measured = interleave(
        "python3 bench.py",
        before_dir=tmp_path / "before",
        after_dir=tmp_path / "after",
        runs=3,
        max_runs=6,
        min_speedup=1.05,
        alpha=0.05,
    )
    # Three pairs cannot reach the per-look level (1/20 > 0.05/3); four can (1/70).
    assert (measured.before_median, measured.after_median) == (0.3, 0.1)
    assert measured.judgement.verdict == "faster" and measured.judgement.pairs == 4
