"""Validation in a scratch git worktree: the patch applies, the tests pass, the benchmark improves.

Everything runs in a detached scratch worktree (skills.worktrees) at the head of the
repository's default branch; the diff passes the one patch-safety check (skills.patchsafety)
before git applies it; the user's work tree, index and branches are never touched. Commands
are split with shlex (no shell), run with a minimal environment and a timeout, and their output
is captured and capped.
"""

from __future__ import annotations

import os
import re
import shlex
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skills import sandbox
from skills.gitio import run_git
from skills.patchsafety import patch_refusal
from skills.solver.speedup import UNDECIDED, Judgement, describe, judge, look_alpha
from skills.solver.types import Validation
from skills.worktrees import head_commit, scratch_worktree, worktree_reset

TEST_TIMEOUT_S = 300.0
BENCH_TIMEOUT_S = 300.0
BENCH_RUNS = 3
# Keep the tail of long logs: the failure is usually at the end.
MAX_LOG_CHARS = 16_000
_SECONDS_RE = re.compile(r"^\s*seconds:\s*([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*$", re.M)


class ValidationError(Exception):
    """The scratch worktree could not be made, or a command could not be started."""


@dataclass(frozen=True)
class CommandResult:
    command: str
    returncode: int | None  # None: timed out
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def cap_log(text: str, limit: int = MAX_LOG_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"[{len(text) - limit} earlier characters not shown]\n" + text[-limit:]


def minimal_env(home: str | Path) -> dict[str, str]:
    """Just enough environment for a test runner: no secrets from ours reach the repo's code.

    Under the sandbox, PATH, HOME and TMPDIR are replaced by the sandbox's own (skills.sandbox).
    """
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "TMPDIR": str(home),
    }


def run_command(command: str, *, cwd: str | Path, timeout: float) -> CommandResult:
    """Run one configured command (no shell) under the sandbox policy and capture its output.

    The output starts with the sandbox's note line (what confined the command, or a warning
    that nothing did). WATTSON_SANDBOX=required without bubblewrap is a ValidationError: the
    repository's code is not run at all.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ValidationError(f"cannot parse command {command!r}: {exc}") from None
    if not argv:
        raise ValidationError("empty command")
    try:
        policy = sandbox.sandbox_policy()
    except sandbox.SandboxUnavailable as exc:
        raise ValidationError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="wattson-home-") as home:
        try:
            result = sandbox.run(
                argv, cwd=cwd, env=minimal_env(home), timeout=timeout, policy=policy
            )
        except OSError as exc:
            raise ValidationError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
    return CommandResult(command, result.returncode, cap_log(result.output), result.seconds)


def parse_seconds(output: str) -> float | None:
    """The last `seconds: X` line a benchmark printed, or None."""
    matches = _SECONDS_RE.findall(output)
    return float(matches[-1]) if matches else None


def measure_benchmark(
    command: str, *, cwd: str | Path, runs: int = BENCH_RUNS, timeout: float = BENCH_TIMEOUT_S
) -> tuple[float | None, str]:
    """Median of `runs` runs: the printed `seconds: X`, else the command's wall time.

    Returns (None, log) when any run fails, because a failing benchmark measures nothing.
    """
    samples: list[float] = []
    log: list[str] = []
    for index in range(runs):
        result = run_command(command, cwd=cwd, timeout=timeout)
        if not result.ok:
            status = "timed out" if result.returncode is None else f"exit {result.returncode}"
            log.append(f"run {index + 1}: {status}\n{result.output}")
            return None, cap_log("\n".join(log))
        printed = parse_seconds(result.output)
        value = printed if printed is not None else result.seconds
        source = "printed" if printed is not None else "wall time"
        samples.append(value)
        log.append(f"run {index + 1}: {value:.6f}s ({source})")
    median = statistics.median(samples)
    log.append(f"median of {runs}: {median:.6f}s")
    return median, "\n".join(log)


def _sample(command: str, cwd: str | Path, timeout: float) -> tuple[float | None, str]:
    """One benchmark run: (seconds, log line); None when it failed."""
    result = run_command(command, cwd=cwd, timeout=timeout)
    if not result.ok:
        status = "timed out" if result.returncode is None else f"exit {result.returncode}"
        return None, f"{status}\n{result.output}"
    printed = parse_seconds(result.output)
    if printed is not None:
        return printed, f"{printed:.6f}s (printed)"
    return result.seconds, f"{result.seconds:.6f}s (wall time)"


@dataclass(frozen=True)
class Interleaved:
    """Alternating before/after benchmark samples, and the verdict on them (when judged)."""

    before: list[float]
    after: list[float]
    log: str
    judgement: Judgement | None = None
    failed_side: str = ""  # "before" or "after" when a run failed (the samples then stop)

    @property
    def before_median(self) -> float | None:
        if self.failed_side == "before" or not self.before:
            return None
        return statistics.median(self.before)

    @property
    def after_median(self) -> float | None:
        if self.failed_side or not self.after:
            return None
        return statistics.median(self.after)


def interleave(
    command: str,
    *,
    before_dir: str | Path,
    after_dir: str | Path,
    runs: int = BENCH_RUNS,
    timeout: float = BENCH_TIMEOUT_S,
    max_runs: int | None = None,
    min_speedup: float = 1.0,
    alpha: float | None = None,
) -> Interleaved:
    """`runs` before/after pairs, alternating, then (with `alpha`) more while undecided.

    Alternating keeps a change in machine load from landing on one side only, which a
    before-then-after sequence cannot promise on a busy host. With `alpha`, each pair from
    `runs` on is a look at the verdict (skills.solver.speedup.judge): a "faster" or "not faster"
    verdict stops the runs; "undecided" takes another pair, up to `max_runs`.
    """
    last = max(runs, max_runs or runs)
    level = look_alpha(alpha, runs, last) if alpha is not None else None
    before: list[float] = []
    after: list[float] = []
    log: list[str] = []
    judgement: Judgement | None = None
    for index in range(last):
        for label, cwd, samples in (("before", before_dir, before), ("after", after_dir, after)):
            value, line = _sample(command, cwd, timeout)
            log.append(f"run {index + 1} {label}: {line}")
            if value is None:
                return Interleaved(before, after, cap_log("\n".join(log)), failed_side=label)
            samples.append(value)
        if alpha is not None and index + 1 >= runs:
            judgement = judge(before, after, min_speedup=min_speedup, alpha=alpha, level=level)
            if judgement.verdict != UNDECIDED:
                break
    log.append(
        f"median of {len(before)}: before {statistics.median(before):.6f}s, "
        f"after {statistics.median(after):.6f}s"
    )
    if judgement is not None:
        log.append(describe(judgement.as_dict()))
    return Interleaved(before, after, "\n".join(log), judgement)


def measure_interleaved(
    command: str,
    *,
    before_dir: str | Path,
    after_dir: str | Path,
    runs: int = BENCH_RUNS,
    timeout: float = BENCH_TIMEOUT_S,
) -> tuple[float | None, float | None, str]:
    """(before median, after median, log) of `runs` alternating pairs (see `interleave`)."""
    measured = interleave(
        command, before_dir=before_dir, after_dir=after_dir, runs=runs, timeout=timeout
    )
    return measured.before_median, measured.after_median, measured.log


def _apply(worktree: str | Path, diff: str, validation: Validation) -> bool:
    """The one safety check, then `git apply`; the apply log says why when it does not apply."""
    unsafe = patch_refusal(diff, repo=worktree)
    if unsafe:
        validation.apply_log = unsafe
        return False
    check = run_git(worktree, "apply", "--check", "-", input_text=diff, check=False)
    if check.returncode != 0:
        validation.apply_log = cap_log(check.stderr or check.stdout or "git apply --check")
        return False
    applied = run_git(worktree, "apply", "-", input_text=diff, check=False)
    if applied.returncode != 0:
        validation.apply_log = cap_log(applied.stderr or "git apply failed")
        return False
    validation.applies = True
    validation.apply_log = "git apply --check: ok"
    return True


def _run_tests(
    worktree: str | Path,
    test_cmd: str,
    validation: Validation,
    *,
    timeout: float,
    judge_tests: Callable[[int | None, str], tuple[bool, str]] | None,
) -> bool:
    """Run the test command on the patched worktree and record whether it passed."""
    result = run_command(test_cmd, cwd=worktree, timeout=timeout)
    passed, note = (
        judge_tests(result.returncode, result.output)
        if judge_tests is not None
        else (result.ok, "")
    )
    validation.tests_passed, validation.baseline_note = passed, note
    status = "timed out" if result.returncode is None else f"exit {result.returncode}"
    validation.test_log = cap_log(
        f"$ {test_cmd}\n{result.output}\n[{status}, {result.seconds:.2f}s]"
        + (f"\n[{note}]" if note else "")
    )
    return passed


def validate_in_worktree(
    worktree: str | Path,
    diff: str,
    *,
    test_cmd: str = "",
    bench_cmd: str = "",
    bench_before_s: float | None = None,
    bench_before_log: str = "",
    bench_runs: int = BENCH_RUNS,
    test_timeout: float = TEST_TIMEOUT_S,
    bench_timeout: float = BENCH_TIMEOUT_S,
    baseline_dir: str | Path | None = None,
    bench_max_runs: int | None = None,
    min_speedup: float = 1.0,
    bench_alpha: float | None = None,
    judge_tests: Callable[[int | None, str], tuple[bool, str]] | None = None,
) -> Validation:
    """Apply `diff` to a clean worktree, run the tests, then the benchmark; reset afterwards.

    The benchmark runs only when the tests pass: a broken change measures nothing useful.
    `judge_tests(returncode, output)` -> (passed, note) decides whether the tests pass (the
    solver compares failing ids with the unpatched baseline); without it, the exit status.
    With `baseline_dir` (a clean checkout of the same commit) before and after runs alternate
    and, with `bench_alpha`, are judged (skills.solver.speedup); otherwise `bench_before_s` is
    the before figure, measured earlier by the caller.
    """
    validation = Validation(base_commit=head_commit(worktree))
    try:
        if not _apply(worktree, diff, validation):
            return validation
        if test_cmd and not _run_tests(
            worktree, test_cmd, validation, timeout=test_timeout, judge_tests=judge_tests
        ):
            return validation
        if bench_cmd and baseline_dir is not None:
            measured = interleave(
                bench_cmd,
                before_dir=baseline_dir,
                after_dir=worktree,
                runs=bench_runs,
                timeout=bench_timeout,
                max_runs=bench_max_runs,
                min_speedup=min_speedup,
                alpha=bench_alpha,
            )
            validation.bench_before_s = measured.before_median
            validation.bench_after_s = measured.after_median
            if measured.judgement is not None:
                validation.bench_judgement = measured.judgement.as_dict()
            validation.bench_log = cap_log(
                f"$ {bench_cmd} (before: head; after: patched)\n{measured.log}"
            )
        elif bench_cmd:
            validation.bench_before_s = bench_before_s
            after, after_log = measure_benchmark(
                bench_cmd, cwd=worktree, runs=bench_runs, timeout=bench_timeout
            )
            validation.bench_after_s = after
            validation.bench_log = cap_log(
                f"$ {bench_cmd}\nbefore (head of the default branch):\n{bench_before_log}\n"
                f"after (with the patch):\n{after_log}"
            )
        return validation
    finally:
        worktree_reset(worktree)


def validate(
    repo_path: str | Path,
    default_branch: str,
    diff: str,
    *,
    test_cmd: str = "",
    bench_cmd: str = "",
    bench_runs: int = BENCH_RUNS,
) -> Validation:
    """Stand-alone validation of one diff (for backends that write their own patches)."""
    with scratch_worktree(repo_path, default_branch) as worktree:
        before, before_log = (None, "")
        if bench_cmd:
            before, before_log = measure_benchmark(bench_cmd, cwd=worktree, runs=bench_runs)
        return validate_in_worktree(
            worktree,
            diff,
            test_cmd=test_cmd,
            bench_cmd=bench_cmd,
            bench_before_s=before,
            bench_before_log=before_log,
            bench_runs=bench_runs,
        )
