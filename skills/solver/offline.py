"""The offline solver: gather context with the tools, try ranked skills' codemods, validate.

`solve(context)` returns the first candidate whose patch applies, whose tests pass and whose
benchmark does not get worse; otherwise an analysis from a diagnosis-only skill, otherwise
"no_fix" with the reason each skill was refused. It needs no network and never imports `reviews`.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skills.gitio import GitError, commit_info, is_work_tree, run_git
from skills.selection import RankedSkill, rank_skills
from skills.solver import rationale as rationale_text
from skills.solver.types import (
    Candidate,
    FunctionRef,
    SkillSpec,
    SolveContext,
    ToolCallRecord,
    Validation,
)
from skills.solver.validation import (
    BENCH_RUNS,
    BENCH_TIMEOUT_S,
    TEST_TIMEOUT_S,
    ValidationError,
    cap_log,
    measure_interleaved,
    scratch_worktree,
    validate_in_worktree,
    worktree_diff,
)

logger = logging.getLogger(__name__)

# A change that does not make the benchmark at least this much faster saved nothing measurable.
MIN_SPEEDUP = 1.05
MAX_CODE_PATTERN_SEARCHES = 4
# Seconds kept back from the task timeout, and the least worth starting a validation with.
SOLVE_MARGIN_S = 10
MIN_VALIDATION_BUDGET_S = 2
# The least budget worth benchmarking the root-cause commit's parent with (a worktree and
# 2 × runs benchmark runs); below it a regression's recovery keeps the opportunity definition.
MIN_PARENT_BUDGET_S = 5
_SHA_RE = re.compile(r"[0-9a-fA-F]{7,64}")


class SolverError(Exception):
    """The solver could not run at all (repository missing, not git, no such branch)."""


@dataclass
class TargetFunction:
    """A regressed function, resolved in the scratch worktree."""

    ref: FunctionRef
    path: str  # repo-relative
    qualname: str  # "func" or "Class.method"
    source: str = ""  # the function's own text
    first_line: int | None = None
    file_source: str = ""
    before_root_cause: str | None = None
    at_root_cause: str | None = None


@dataclass
class Gathered:
    targets: list[TargetFunction] = field(default_factory=list)
    commit_subject: str = ""
    commit_sha: str = ""
    commit_author: str = ""
    commit_diff: str = ""
    unresolved: list[str] = field(default_factory=list)


Progress = Callable[[ToolCallRecord], None]


class Tracer:
    """Calls tools and records every call, including the solver's own steps.

    `progress`, when given, hears of each record as it is made (the live status on the page).
    """

    def __init__(self, sandbox: Any, progress: Progress | None = None) -> None:
        self.sandbox = sandbox
        self.records: list[ToolCallRecord] = _Records(progress)

    def tool(self, name: str, arguments: dict[str, Any]) -> str:
        started = time.perf_counter()
        if self.sandbox is None:
            self.records.append(
                ToolCallRecord(name, arguments, "", 0.0, error="tool registry unavailable")
            )
            return ""
        try:
            from skills.tools import call_tool

            text, record = call_tool(self.sandbox, name, arguments)
        except Exception as exc:  # a tool failing must not stop the solve; it is traced
            elapsed = (time.perf_counter() - started) * 1000
            self.records.append(ToolCallRecord(name, arguments, "", elapsed, error=str(exc)))
            return ""
        self.records.append(record)
        return text if not record.error else ""

    def step(
        self, name: str, arguments: dict[str, Any], summary: str, started: float, error: str = ""
    ) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        self.records.append(ToolCallRecord(name, arguments, summary[:500], elapsed, error[:2000]))


class _Records(list):
    """A list of records that tells a listener about each append; a failing listener is ignored."""

    def __init__(self, progress: Progress | None) -> None:
        super().__init__()
        self.progress = progress

    def append(self, record: ToolCallRecord) -> None:
        super().append(record)
        if self.progress is not None:
            try:
                self.progress(record)
            except Exception:  # live status is a nicety; it must never break a solve
                logger.exception("solve progress listener failed")


def _test_sleep_hook() -> None:
    """Tests that kill a worker mid-solve need a solve that takes a while; never in production."""
    raw = os.environ.get("WATTSON_TEST_SOLVE_SLEEP_S", "")
    if not raw:
        return
    from django.conf import settings

    if settings.DEBUG or os.environ.get("WATTSON_TEST_HOOKS") == "1":
        time.sleep(float(raw))


def _make_sandbox(root: Path, context: SolveContext) -> Any:
    try:
        from skills.tools import RepoSandbox
    except ImportError:
        return None
    docs = {s.slug: f"{s.instructions}\n\n{s.mitigation}".strip() for s in context.skills}
    return RepoSandbox(
        root,
        root_cause_commit=context.root_cause.commit if context.root_cause else None,
        skill_docs=docs,
    )


# --- resolving functions --------------------------------------------------------------------


def _definitions(tree: ast.AST, prefix: str = "") -> dict[str, ast.AST]:
    found: dict[str, ast.AST] = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            found[name] = node
            if isinstance(node, ast.ClassDef):
                found.update(_definitions(node, f"{name}."))
    return found


def locate_function(source: str, qualname: str) -> tuple[int, int, str] | None:
    """(first line incl. decorators, last line, text) of qualname in source, or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    node = _definitions(tree).get(qualname)
    if node is None:
        return None
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    last = node.end_lineno or node.lineno
    lines = source.splitlines(keepends=True)
    return first, last, "".join(lines[first - 1 : last])


def resolve_function(root: Path, ref: FunctionRef) -> tuple[str, str] | None:
    """(repo-relative path, qualname) for a finding's function, or None when not found."""
    parts = ref.symbol.split(".")
    candidates: list[tuple[str, str]] = []
    if ref.file:
        module = ref.file.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        if ref.symbol.startswith(module + "."):
            candidates.append((ref.file, ref.symbol[len(module) + 1 :]))
        candidates += [(ref.file, ".".join(parts[i:])) for i in range(1, len(parts))]
    for i in range(len(parts) - 1, 0, -1):
        base = "/".join(parts[:i])
        for rel in (f"{base}.py", f"{base}/__init__.py"):
            candidates.append((rel, ".".join(parts[i:])))
    for rel, qualname in candidates:
        path = root / rel
        if not qualname or not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
            continue
        if locate_function(path.read_text(errors="replace"), qualname):
            return rel, qualname
    return None


def _file_at(repo: Path, revision: str, path: str) -> str | None:
    result = run_git(repo, "show", f"{revision}:{path}", check=False)
    return result.stdout if result.returncode == 0 else None


# --- gathering context ----------------------------------------------------------------------


def gather(context: SolveContext, root: Path, tracer: Tracer) -> Gathered:
    gathered = Gathered()
    root_cause = context.root_cause if context.kind == "regression" else None
    # A sha only: the value reaches git's argument list (ingest checks it too; the admin may not).
    if root_cause and _SHA_RE.fullmatch(root_cause.commit or ""):
        tracer.tool("root_cause_commit", {})
        try:
            info = commit_info(root, root_cause.commit)
            gathered.commit_sha = info.sha
            gathered.commit_subject = info.subject
            gathered.commit_author = info.author_email
            gathered.commit_diff = info.diff
        except (GitError, ValueError):
            gathered.commit_sha = ""
    outlined: set[str] = set()
    for ref in context.functions:
        arguments = {"symbol": ref.symbol, **({"file": ref.file} if ref.file else {})}
        tracer.tool("get_function", arguments)
        resolved = resolve_function(root, ref)
        if resolved is None:
            gathered.unresolved.append(ref.symbol)
            continue
        path, qualname = resolved
        file_source = (root / path).read_text(errors="replace")
        located = locate_function(file_source, qualname)
        target = TargetFunction(ref=ref, path=path, qualname=qualname, file_source=file_source)
        if located:
            target.first_line, _last, target.source = located
        if gathered.commit_sha:
            tracer.tool("file_at_revision", {"path": path, "rev": f"{gathered.commit_sha}^"})
            target.before_root_cause = _file_at(root, f"{gathered.commit_sha}^", path)
            target.at_root_cause = _file_at(root, gathered.commit_sha, path)
        if path not in outlined:
            tracer.tool("outline_file", {"path": path})
            outlined.add(path)
        gathered.targets.append(target)
    return gathered


def _code_for_triggers(gathered: Gathered) -> dict[str, str]:
    code = {t.ref.symbol: t.source for t in gathered.targets}
    if gathered.commit_diff:
        code["root_cause_diff"] = gathered.commit_diff
    return code


def _search_patterns(ranked: list[RankedSkill], gathered: Gathered, tracer: Tracer) -> None:
    """search_code for the top skills' code patterns in the functions' files, for the trace."""
    paths = sorted({t.path for t in gathered.targets})
    done = 0
    for item in ranked:
        for pattern in (item.skill.trigger or {}).get("code_patterns") or []:
            if done >= MAX_CODE_PATTERN_SEARCHES:
                return
            for path in paths[:1]:
                tracer.tool("search_code", {"pattern": str(pattern), "path": path})
            done += 1
            break


# --- trying skills --------------------------------------------------------------------------


@dataclass
class Attempt:
    skill: SkillSpec
    target: TargetFunction
    diff: str
    summary: str
    first_line: int
    last_line: int
    validation: Validation


class _Bench:
    """A clean checkout of the head for interleaved before/after runs, made when first needed.

    Once the benchmark has failed on the unchanged code it is not run again in this solve.
    For a regression, the benchmark at the root-cause commit's parent is measured once per
    solve (see `regression_parent`), in a worktree of its own from `repo`.
    """

    def __init__(
        self,
        make_baseline: Callable[[], Path],
        command: str,
        runs: int,
        deadline: float,
        repo: Path | None = None,
    ) -> None:
        self.make_baseline, self.command, self.runs = make_baseline, command, runs
        self.baseline: Path | None = None
        self.broken_log = ""
        # time.monotonic() by which the solve must be done: commands get what is left, so a
        # slow test suite times out as a refusal instead of the worker being killed.
        self.deadline = deadline
        self.repo = repo
        # (parent seconds or None, why not, log): measured at most once per solve.
        self.parent: tuple[float | None, str, str] | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def baseline_dir(self) -> Path | None:
        if not self.command or self.broken_log:
            return None
        if self.baseline is None:
            self.baseline = self.make_baseline()
        return self.baseline


Step = Callable[..., None]  # Tracer.step's signature: (name, arguments, summary, started, error)


def regression_parent(
    validation: Validation, context: SolveContext, bench: _Bench, step: Step, commit_sha: str = ""
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
    context: SolveContext, bench: _Bench, step: Step, commit_sha: str
) -> tuple[float | None, str, str]:
    started = time.perf_counter()
    sha = commit_sha or (context.root_cause.commit if context.root_cause else "")
    arguments = {"rev": f"{sha[:12]}^" if sha else ""}

    def fallback(note: str, log: str = "", error: str = "") -> tuple[None, str, str]:
        step("bench_parent", arguments, f"not used: {note}", started, error=error)
        return None, note, log

    # A sha only: the value reaches git's argument list.
    if not _SHA_RE.fullmatch(sha or ""):
        return fallback("the regression has no root-cause commit to measure before")
    if bench.repo is None or bench.baseline is None or not bench.command:
        return fallback("no clean checkout of the head to compare the parent with")
    remaining = bench.remaining()
    if remaining < MIN_PARENT_BUDGET_S:
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
    except ValidationError as exc:
        return fallback(
            f"the root-cause commit's parent cannot be checked out: {exc}", error=str(exc)
        )
    log = cap_log(
        f"$ {bench.command} (before the regression: {sha[:12]}^, interleaved with the head; "
        f'"before" = parent, "after" = head)\n{log}'
    )
    if parent is None:
        return fallback(
            "the benchmark fails at the root-cause commit's parent", log, error=_tail(log, 6)
        )
    if head is None:
        return fallback("the benchmark failed on the head beside the parent", log, _tail(log, 6))
    if head / max(parent, 1e-9) < MIN_SPEEDUP:
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


def _try_skill(
    item: RankedSkill,
    target: TargetFunction,
    context: SolveContext,
    root: Path,
    tracer: Tracer,
    bench: _Bench,
) -> tuple[Attempt | None, str]:
    """One codemod on one function, validated. (attempt, "") or (None, why it was refused)."""
    from skills.codemods import CodemodInput, CodemodRefused, run_codemod

    skill = item.skill
    where = f"{target.ref.symbol}"
    arguments = {"skill": skill.slug, "codemod": skill.codemod, "function": where}
    started = time.perf_counter()
    try:
        result = run_codemod(
            skill.codemod,
            CodemodInput(
                source=target.file_source,
                path=target.path,
                qualname=target.qualname,
                root_cause_before=target.before_root_cause,
                root_cause_after=target.at_root_cause,
                hint=context.reviewer_comment,
            ),
        )
    except CodemodRefused as exc:
        tracer.step("codemod", arguments, "refused", started, error=str(exc))
        return None, f"{where}: {exc}"
    except KeyError:
        tracer.step("codemod", arguments, "unknown", started, error="no such codemod")
        return None, f"no codemod named {skill.codemod!r} is registered"
    except Exception as exc:  # a crashing codemod is refused, not fatal
        tracer.step("codemod", arguments, "crashed", started, error=repr(exc))
        return None, f"{where}: the codemod crashed ({type(exc).__name__}: {exc})"
    tracer.step("codemod", arguments, result.summary, started)

    (root / target.path).write_text(result.new_source)
    diff = worktree_diff(root, target.path)
    run_git(root, "checkout", "--quiet", "--", target.path)
    if not diff.strip():
        return None, f"{where}: the codemod changed nothing"
    if context.previous_diff and diff.strip() == context.previous_diff.strip():
        return None, f"{where}: the same diff as the revision the reviewer asked to change"

    remaining = bench.remaining()
    if remaining < MIN_VALIDATION_BUDGET_S:
        return None, f"{where}: no time left to validate it within the solve timeout"
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
        bench_timeout=min(BENCH_TIMEOUT_S, remaining / (8 * bench.runs)),
        # A noisy host gets more pairs before a change is called "no gain" (or a gain).
        bench_max_runs=2 * bench.runs,
        min_speedup=MIN_SPEEDUP,
    )
    if baseline is not None and validation.bench_before_s is None and validation.bench_log:
        # The unchanged code's benchmark fails: nothing can be measured, so say so and go on
        # without it (the tests still decide).
        bench.broken_log = validation.bench_log
        validation.bench_after_s = None
    if bench.broken_log:
        validation.bench_log = f"the benchmark fails on the unchanged code:\n{bench.broken_log}"
    verdict = _verdict(validation)
    tracer.step(
        "validate",
        {"skill": skill.slug, "function": where},
        verdict or _validation_summary(validation),
        started,
        error=verdict,
    )
    if verdict:
        return None, f"{where}: {verdict}"
    attempt = Attempt(
        skill, target, diff, result.summary, result.first_line, result.last_line, validation
    )
    return attempt, ""


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _verdict(validation: Validation) -> str:
    """Why a validated change is refused, or "" when it may be presented."""
    if not validation.applies:
        return f"the patch does not apply: {_tail(validation.apply_log, 4)}"
    if validation.tests_passed is False:
        return f"the tests fail with the change:\n{_tail(validation.test_log)}"
    before, after = validation.bench_before_s, validation.bench_after_s
    if before is not None and after is None:
        return f"the benchmark fails with the change:\n{_tail(validation.bench_log)}"
    if before and after and before / max(after, 1e-9) < MIN_SPEEDUP:
        return f"no measurable gain: the benchmark took {before:.4f}s before and {after:.4f}s after"
    return ""


def _validation_summary(validation: Validation) -> str:
    parts = ["applies"]
    if validation.tests_passed is not None:
        parts.append("tests pass")
    if validation.bench_before_s and validation.bench_after_s:
        speedup = validation.bench_before_s / max(validation.bench_after_s, 1e-9)
        parts.append(
            f"benchmark {validation.bench_before_s:.4f}s → {validation.bench_after_s:.4f}s "
            f"({speedup:.1f}× faster)"
        )
    return ", ".join(parts)


# --- the pipeline ---------------------------------------------------------------------------


def _candidate_from(
    attempt: Attempt, context: SolveContext, gathered: Gathered, tracer: Tracer
) -> Candidate:
    skill = attempt.skill
    measured = attempt.validation.measured_recovery
    recovery = measured if measured is not None else skill.expected_recovery
    estimated = context.fleet.watts(context.magnitude_pct, recovery)
    return Candidate(
        outcome="proposal",
        skill_slug=skill.slug,
        skill_version_id=skill.version_id,
        diff=attempt.diff,
        rationale=rationale_text.for_proposal(
            context=context,
            skill=skill,
            function=attempt.target.ref.symbol,
            path=attempt.target.path,
            first_line=attempt.first_line,
            last_line=attempt.last_line,
            summary=attempt.summary,
            validation=attempt.validation,
            commit_sha=gathered.commit_sha,
            commit_subject=gathered.commit_subject,
            commit_author=gathered.commit_author,
            recovery=recovery,
            estimated_watts=estimated,
        ),
        risks=rationale_text.risks(skill, context),
        expected_recovery=skill.expected_recovery,
        estimated_watts=estimated,
        measured_watts=(
            context.fleet.watts(context.magnitude_pct, measured) if measured is not None else None
        ),
        validation=attempt.validation,
        trace=list(tracer.records),
        backend="offline",
    )


def solve(
    context: SolveContext, *, bench_runs: int = BENCH_RUNS, progress: Progress | None = None
) -> Candidate:
    """Turn a finding's context into a validated candidate, an analysis, or no fix with reasons."""
    _test_sleep_hook()
    deadline = _solve_deadline()
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

            return _solve_in(root, context, bench_runs, progress, make_baseline, deadline, repo)
    except ValidationError as exc:
        # No worktree, or a configured command that cannot even be started.
        raise SolverError(str(exc)) from None


def _solve_deadline() -> float:
    """Leave a margin under the worker's task timeout for storing the result."""
    from django.conf import settings

    timeout = getattr(settings, "WATTSON_SOLVE_TIMEOUT_S", 300)
    return time.monotonic() + timeout - min(SOLVE_MARGIN_S, timeout * 0.2)


def _solve_in(
    root: Path,
    context: SolveContext,
    bench_runs: int,
    progress: Progress | None,
    make_baseline: Callable[[], Path],
    deadline: float,
    repo: Path | None = None,
) -> Candidate:
    tracer = Tracer(_make_sandbox(root, context), progress)
    gathered = gather(context, root, tracer)
    ranked, refusals = rank_skills(context, _code_for_triggers(gathered))
    started = time.perf_counter()
    tracer.step(
        "rank_skills",
        {"functions": [t.ref.symbol for t in gathered.targets]},
        ", ".join(f"{r.slug} ({r.score:.2f})" for r in ranked) or "no applicable skill",
        started,
    )
    _search_patterns(ranked, gathered, tracer)
    if not gathered.targets:
        missing = ", ".join(gathered.unresolved) or "none given"
        return Candidate(
            outcome="no_fix",
            trace=list(tracer.records),
            refusals=refusals,
            no_fix_reason=f"none of the finding's functions is in the repository ({missing})",
        )

    bench = _Bench(make_baseline, context.bench_cmd, bench_runs, deadline, repo)
    diagnosis: list[RankedSkill] = []
    for item in ranked:
        if not item.skill.codemod:
            diagnosis.append(item)
            continue
        reasons: list[str] = []
        for target in gathered.targets:
            attempt, reason = _try_skill(item, target, context, root, tracer, bench)
            if attempt is not None:
                regression_parent(
                    attempt.validation, context, bench, tracer.step, gathered.commit_sha
                )
                candidate = _candidate_from(attempt, context, gathered, tracer)
                candidate.refusals = refusals
                return candidate
            reasons.append(reason)
        refusals.append({"skill": item.slug, "reason": "\n".join(reasons)})

    if diagnosis:
        item = diagnosis[0]
        return Candidate(
            outcome="analysis",
            skill_slug=item.slug,
            skill_version_id=item.skill.version_id,
            rationale=rationale_text.for_analysis(
                context=context,
                skill=item.skill,
                targets=[(t.ref.symbol, t.path, t.first_line) for t in gathered.targets],
                commit_sha=gathered.commit_sha,
                commit_subject=gathered.commit_subject,
                refusals=refusals,
            ),
            expected_recovery=item.skill.expected_recovery,
            estimated_watts=context.fleet.watts(
                context.magnitude_pct, item.skill.expected_recovery
            ),
            trace=list(tracer.records),
            refusals=refusals,
        )
    tried = [r["skill"] for r in refusals if not r["reason"].startswith("not applicable")]
    reason = (
        f"no skill produced a change that passes validation (tried {', '.join(tried)})"
        if tried
        else "no enabled skill applies to this finding"
    )
    return Candidate(
        outcome="no_fix", trace=list(tracer.records), refusals=refusals, no_fix_reason=reason
    )
