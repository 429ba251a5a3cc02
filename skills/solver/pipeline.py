"""The solve pipeline both backends share: scratch set-up, budget, validation, verdict, savings.

The offline codemods and the Anthropic agent differ only in how they come by a diff; from the
diff on, a candidate is validated, judged, measured against a regression's parent and costed by
the functions here, so the two backends cannot drift apart. Limits are read from settings at
call time (WATTSON_BENCH_RUNS, WATTSON_BENCH_MAX_RUNS, WATTSON_BENCH_ALPHA, WATTSON_MIN_SPEEDUP,
WATTSON_MIN_PARENT_BUDGET_S, WATTSON_SOLVE_TIMEOUT_S).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from skills.gitio import is_work_tree
from skills.solver.baseline import Baseline, compare, run_baseline
from skills.solver.gather import SHA_RE
from skills.solver.speedup import FASTER, describe
from skills.solver.trace import Step, Tracer
from skills.solver.types import SolveContext, Validation
from skills.solver.validation import (
    BENCH_TIMEOUT_S,
    TEST_TIMEOUT_S,
    ValidationError,
    cap_log,
    measure_interleaved,
    validate_in_worktree,
)
from skills.worktrees import WorktreeError, head_commit, scratch_worktree

# Seconds kept back from the task timeout, and the least worth starting a validation with.
SOLVE_MARGIN_S = 10
MIN_VALIDATION_BUDGET_S = 2


class SolverError(Exception):
    """The solver could not run at all (repository missing, not git, no such branch)."""


@dataclass(frozen=True)
class Limits:
    """How hard validation measures, from settings at call time (or given, e.g. by a command)."""

    bench_runs: int
    min_speedup: float
    min_parent_budget_s: float
    # "Faster" is a one-sided test at this level (skills.solver.speedup), with up to
    # bench_max_runs pairs while the verdict is undecided.
    bench_alpha: float = 0.05
    bench_max_runs: int = 6

    @classmethod
    def from_settings(cls, *, bench_runs: int | None = None) -> Limits:
        return cls(
            bench_runs=settings.WATTSON_BENCH_RUNS if bench_runs is None else bench_runs,
            min_speedup=settings.WATTSON_MIN_SPEEDUP,
            min_parent_budget_s=settings.WATTSON_MIN_PARENT_BUDGET_S,
            bench_alpha=settings.WATTSON_BENCH_ALPHA,
            bench_max_runs=settings.WATTSON_BENCH_MAX_RUNS,
        )


def solve_deadline() -> float:
    """time.monotonic() by which a solve must be done: a margin under the worker's timeout."""
    timeout = settings.WATTSON_SOLVE_TIMEOUT_S
    return time.monotonic() + timeout - min(SOLVE_MARGIN_S, timeout * 0.2)


class Bench:
    """A clean checkout of the head for interleaved before/after runs, made when first needed.

    Once the benchmark has failed on the unchanged code it is not run again in this solve.
    For a regression, the benchmark at the root-cause commit's parent is measured once per
    solve (see `regression_parent`), in a worktree of its own from `repo`.
    """

    def __init__(
        self,
        make_baseline: Callable[[], Path],
        command: str,
        limits: Limits,
        deadline: float,
        repo: Path | None = None,
    ) -> None:
        self.make_baseline, self.command, self.limits = make_baseline, command, limits
        self.baseline: Path | None = None
        self.broken_log = ""
        # Commands get what is left of the solve's time, so a slow test suite times out as a
        # refusal instead of the worker being killed.
        self.deadline = deadline
        self.repo = repo
        # (parent seconds or None, why not, log): measured at most once per solve.
        self.parent: tuple[float | None, str, str] | None = None
        # The tests on the unpatched commit, run (or read from the cache) once per solve.
        self.tests_baseline: Baseline | None = None

    @property
    def runs(self) -> int:
        return self.limits.bench_runs

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def baseline_dir(self) -> Path | None:
        if not self.command or self.broken_log:
            return None
        if self.baseline is None:
            self.baseline = self.make_baseline()
        return self.baseline


@contextlib.contextmanager
def scratch(context: SolveContext, limits: Limits) -> Iterator[tuple[Path, Bench]]:
    """A scratch worktree of the default branch's head to work in, and the solve's Bench.

    Raises SolverError when the repository is missing, is not git, or has no such branch.
    """
    deadline = solve_deadline()
    repo = Path(context.repo_path)
    if not repo.is_dir():
        raise SolverError(f"repository path {context.repo_path} does not exist")
    if not is_work_tree(repo):
        raise SolverError(f"{context.repo_path} is not a git work tree")
    try:
        with contextlib.ExitStack() as stack:
            root = stack.enter_context(scratch_worktree(repo, context.default_branch))

            def make_baseline() -> Path:
                return stack.enter_context(scratch_worktree(repo, context.default_branch))

            yield root, Bench(make_baseline, context.bench_cmd, limits, deadline, repo)
    except (WorktreeError, ValidationError) as exc:
        # No worktree, or a configured command that cannot even be started.
        raise SolverError(str(exc)) from None


# --- validating a diff -----------------------------------------------------------------------


def tests_baseline(
    root: Path, context: SolveContext, bench: Bench, tracer: Tracer
) -> Baseline | None:
    """The tests on the unpatched scratch worktree, once per solve (cached per commit and
    command); None without a test command. Traced as a "baseline_tests" step."""
    if not context.test_cmd:
        return None
    if bench.tests_baseline is None:
        started = time.perf_counter()
        commit = head_commit(root)
        baseline, cached = run_baseline(
            root,
            context.test_cmd,
            repo=context.repo_path,
            commit=commit,
            timeout=min(TEST_TIMEOUT_S, bench.remaining() / 3),
        )
        bench.tests_baseline = baseline
        if not baseline.runnable:
            summary, error = "cannot run", baseline.why_not_runnable()
        elif baseline.ok:
            summary, error = "the tests pass on the unchanged code", ""
        else:
            failing = baseline.failures or ["(ids not readable)"]
            summary, error = f"already failing before any change: {', '.join(failing[:10])}", ""
        if cached:
            summary += " (cached for this commit and command)"
        tracer.step("baseline_tests", {"commit": commit[:12]}, summary, started, error=error)
    return bench.tests_baseline


def baseline_refusal(root: Path, context: SolveContext, bench: Bench, tracer: Tracer) -> str:
    """Why no change can be judged on this commit (the tests cannot run at all), or ""."""
    baseline = tests_baseline(root, context, bench, tracer)
    return baseline.why_not_runnable() if baseline is not None and not baseline.runnable else ""


def validate_diff(
    root: Path,
    diff: str,
    *,
    context: SolveContext,
    bench: Bench,
    tracer: Tracer,
    arguments: dict,
) -> tuple[Validation, str]:
    """(validation, verdict) of one diff in the scratch worktree; traced as a "validate" step.

    Tests get up to half the time left; the benchmark alternates with the clean checkout and
    takes more pairs (up to the limit) while the statistical verdict is undecided.
    """
    refusal = baseline_refusal(root, context, bench, tracer)
    if refusal:
        tracer.step("validate", arguments, refusal, time.perf_counter(), error=refusal)
        return Validation(), refusal
    tests_before = bench.tests_baseline
    remaining = bench.remaining()
    max_pairs = max(bench.runs, bench.limits.bench_max_runs)
    baseline = bench.baseline_dir()
    started = time.perf_counter()
    validation = validate_in_worktree(
        root,
        diff,
        test_cmd=context.test_cmd,
        bench_cmd=context.bench_cmd if baseline is not None else "",
        bench_runs=bench.runs,
        baseline_dir=baseline,
        test_timeout=min(TEST_TIMEOUT_S, remaining / 2),
        bench_timeout=min(BENCH_TIMEOUT_S, remaining / (4 * max_pairs)),
        bench_max_runs=max_pairs,
        min_speedup=bench.limits.min_speedup,
        bench_alpha=bench.limits.bench_alpha,
        judge_tests=lambda returncode, output: compare(tests_before, returncode, output),
    )
    if tests_before is not None and tests_before.failures:
        validation.baseline_failures = list(tests_before.failures)
    if baseline is not None and validation.bench_before_s is None and validation.bench_log:
        # The unchanged code's benchmark fails: nothing can be measured, so say so and go on
        # without it (the tests still decide).
        bench.broken_log = validation.bench_log
        validation.bench_after_s = None
    if bench.broken_log:
        validation.bench_log = f"the benchmark fails on the unchanged code:\n{bench.broken_log}"
    found = verdict(validation, bench.limits.min_speedup)
    tracer.step(
        "validate", arguments, found or validation_summary(validation), started, error=found
    )
    return validation, found


def tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def verdict(validation: Validation, min_speedup: float) -> str:
    """Why a validated change is refused, or "" when it may be presented."""
    if not validation.passed:
        if not validation.applies:
            return f"the patch does not apply: {tail(validation.apply_log, 4)}"
        return f"the tests fail with the change:\n{tail(validation.test_log)}"
    before, after = validation.bench_before_s, validation.bench_after_s
    if before is not None and after is None:
        return f"the benchmark fails with the change:\n{tail(validation.bench_log)}"
    judgement = validation.bench_judgement
    if before and after and judgement:
        if judgement.get("verdict") != FASTER:
            return f"no significant gain: {describe(judgement)}"
        return ""
    # Measured without interleaving (no samples to judge): the ratio is all there is.
    if before and after and before / max(after, 1e-9) < min_speedup:
        return f"no measurable gain: the benchmark took {before:.4f}s before and {after:.4f}s after"
    return ""


def validation_summary(validation: Validation) -> str:
    """One line for the trace: what a passing validation found."""
    parts = ["applies"]
    if validation.tests_passed is not None:
        parts.append("tests pass")
    if validation.bench_before_s and validation.bench_after_s:
        speedup = validation.bench_before_s / max(validation.bench_after_s, 1e-9)
        parts.append(
            f"benchmark {validation.bench_before_s:.4f}s → {validation.bench_after_s:.4f}s "
            f"({speedup:.2f}× faster)"
        )
    if validation.bench_judgement:
        parts.append(describe(validation.bench_judgement))
    return ", ".join(parts)


@dataclass(frozen=True)
class Savings:
    recovery: float  # the share of the finding's magnitude the estimate assumes recovered
    measured: bool  # validation measured a recovery too (measured_watts)
    estimated_watts: float
    measured_watts: float | None


def savings(context: SolveContext, validation: Validation, expected_recovery: float) -> Savings:
    """Watts the change saves, two figures kept apart: estimated with the skill's expected
    recovery, measured with the recovery validation measured (None when it measured none).

    The page, the reports and the skill's statistics label them separately; an estimate that
    silently took the measured figure would make the two always agree (issue #11 item 6).
    """
    measured = validation.measured_recovery
    return Savings(
        recovery=expected_recovery,
        measured=measured is not None,
        estimated_watts=context.fleet.watts(context.magnitude_pct, expected_recovery),
        measured_watts=(
            context.fleet.watts(context.magnitude_pct, measured) if measured is not None else None
        ),
    )


# --- a regression's parent -------------------------------------------------------------------


def regression_parent(
    validation: Validation, context: SolveContext, bench: Bench, step: Step, commit_sha: str = ""
) -> None:
    """For a regression, set validation.bench_parent_s (or the note saying why not).

    The finding's magnitude is the increase the root cause caused, so the fix's recovery is the
    share of that increase it undoes, which needs the benchmark before the regression. It is
    measured once per solve, interleaved with the clean head so machine load lands on both.
    """
    if context.kind != "regression" or not validation.bench_before_s:
        return
    if validation.bench_after_s is None:
        return
    if bench.parent is None:
        bench.parent = _measure_parent(context, bench, step, commit_sha)
    parent, note, log = bench.parent
    validation.bench_parent_s, validation.bench_parent_note = parent, note
    if parent is not None and validation.bench_before_s <= parent:
        # Load moved between the two sessions: the head now measures no slower than the parent.
        validation.bench_parent_s = None
        validation.bench_parent_note = (
            f"the head measured {validation.bench_before_s:.4f} s in validation, no slower than "
            f"the root-cause commit's parent ({parent:.4f} s)"
        )
    if log:
        validation.bench_log = cap_log(f"{validation.bench_log}\n\n{log}".strip())


def _measure_parent(
    context: SolveContext, bench: Bench, step: Step, commit_sha: str
) -> tuple[float | None, str, str]:
    started = time.perf_counter()
    sha = commit_sha or (context.root_cause.commit if context.root_cause else "")
    arguments = {"rev": f"{sha[:12]}^" if sha else ""}

    def fallback(note: str, log: str = "", error: str = "") -> tuple[None, str, str]:
        step("bench_parent", arguments, f"not used: {note}", started, error=error)
        return None, note, log

    # A sha only: the value reaches git's argument list.
    if not SHA_RE.fullmatch(sha or ""):
        return fallback("the regression has no root-cause commit to measure before")
    if bench.repo is None or bench.baseline is None or not bench.command:
        return fallback("no clean checkout of the head to compare the parent with")
    remaining = bench.remaining()
    if remaining < bench.limits.min_parent_budget_s:
        return fallback(f"only {max(remaining, 0):.0f} s of the solve's time budget was left")
    timeout = min(BENCH_TIMEOUT_S, remaining / (4 * max(bench.runs, 1)))
    try:
        with scratch_worktree(bench.repo, f"{sha}^") as parent_dir:
            parent, head, log = measure_interleaved(
                bench.command,
                before_dir=parent_dir,
                after_dir=bench.baseline,
                runs=bench.runs,
                timeout=timeout,
            )
    except (WorktreeError, ValidationError) as exc:
        return fallback(
            f"the root-cause commit's parent cannot be checked out: {exc}", error=str(exc)
        )
    log = cap_log(
        f"$ {bench.command} (before the regression: {sha[:12]}^, interleaved with the head; "
        f'"before" = parent, "after" = head)\n{log}'
    )
    if parent is None:
        return fallback(
            "the benchmark fails at the root-cause commit's parent", log, error=tail(log, 6)
        )
    if head is None:
        return fallback("the benchmark failed on the head beside the parent", log, tail(log, 6))
    if head / max(parent, 1e-9) < bench.limits.min_speedup:
        return fallback(
            f"the root-cause commit's parent is not measurably faster ({parent:.4f} s, head "
            f"{head:.4f} s): the benchmark does not reproduce the regression",
            log,
        )
    step(
        "bench_parent",
        arguments,
        f"before the regression: {parent:.4f} s (head {head:.4f} s, {head / parent:.1f}× slower)",
        started,
    )
    return parent, "", log
