"""The offline solver: gather context with the tools, try ranked skills' codemods, validate.

`solve(context)` returns the first candidate whose patch applies, whose tests pass and whose
benchmark does not get worse; otherwise an analysis from a diagnosis-only skill, otherwise
"no_fix" with the reason each skill was refused. It needs no network and never imports `reviews`.
The scratch set-up, validation, verdict and savings are the shared pipeline's
(skills.solver.pipeline); this module only turns skills' codemods into diffs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from skills.codemods import CodemodInput, CodemodRefused, run_codemod
from skills.gitio import run_git
from skills.selection import RankedSkill, rank_skills
from skills.solver import rationale as rationale_text
from skills.solver.gather import (
    Gathered,
    TargetFunction,
    code_for_triggers,
    gather,
    locate_function,
    resolve_function,
)
from skills.solver.pipeline import (
    MIN_VALIDATION_BUDGET_S,
    Bench,
    Limits,
    SolverError,
    regression_parent,
    savings,
    scratch,
    validate_diff,
)
from skills.solver.trace import Progress, Tracer, make_sandbox
from skills.solver.types import Candidate, SkillSpec, SolveContext, Validation
from skills.worktrees import worktree_diff

# reviews.services.solving knows these by this module; their homes are gather and pipeline.
__all__ = ["SolverError", "locate_function", "resolve_function", "solve"]

MAX_CODE_PATTERN_SEARCHES = 4


def _test_sleep_hook() -> None:
    """Tests that kill a worker mid-solve need a solve that takes a while; never in production."""
    raw = os.environ.get("WATTSON_TEST_SOLVE_SLEEP_S", "")
    if not raw:
        return
    if settings.DEBUG or os.environ.get("WATTSON_TEST_HOOKS") == "1":
        time.sleep(float(raw))


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


def _codemod_diff(
    item: RankedSkill, target: TargetFunction, context: SolveContext, root: Path, tracer: Tracer
) -> tuple[str, str, tuple[int, int], str]:
    """(diff, summary, (first, last line), "") from one codemod, or ("", "", (0, 0), why not)."""
    skill = item.skill
    where = target.ref.symbol
    arguments = {"skill": skill.slug, "codemod": skill.codemod, "function": where}
    started = time.perf_counter()
    refused = "", "", (0, 0)
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
                repo_root=str(root),
            ),
        )
    except CodemodRefused as exc:
        tracer.step("codemod", arguments, "refused", started, error=str(exc))
        return *refused, f"{where}: {exc}"
    except KeyError:
        tracer.step("codemod", arguments, "unknown", started, error="no such codemod")
        return *refused, f"no codemod named {skill.codemod!r} is registered"
    except Exception as exc:  # a crashing codemod is refused, not fatal
        tracer.step("codemod", arguments, "crashed", started, error=repr(exc))
        return *refused, f"{where}: the codemod crashed ({type(exc).__name__}: {exc})"
    tracer.step("codemod", arguments, result.summary, started)

    (root / target.path).write_text(result.new_source)
    diff = worktree_diff(root, target.path)
    run_git(root, "checkout", "--quiet", "--", target.path)
    if not diff.strip():
        return *refused, f"{where}: the codemod changed nothing"
    if context.previous_diff and diff.strip() == context.previous_diff.strip():
        return *refused, f"{where}: the same diff as the revision the reviewer asked to change"
    return diff, result.summary, (result.first_line, result.last_line), ""


def _try_skill(
    item: RankedSkill,
    target: TargetFunction,
    context: SolveContext,
    root: Path,
    tracer: Tracer,
    bench: Bench,
) -> tuple[Attempt | None, str]:
    """One codemod on one function, validated. (attempt, "") or (None, why it was refused)."""
    where = target.ref.symbol
    diff, summary, (first_line, last_line), refusal = _codemod_diff(
        item, target, context, root, tracer
    )
    if refusal:
        return None, refusal
    if bench.remaining() < MIN_VALIDATION_BUDGET_S:
        return None, f"{where}: no time left to validate it within the solve timeout"
    validation, verdict = validate_diff(
        root,
        diff,
        context=context,
        bench=bench,
        tracer=tracer,
        arguments={"skill": item.skill.slug, "function": where},
    )
    if verdict:
        return None, f"{where}: {verdict}"
    return Attempt(item.skill, target, diff, summary, first_line, last_line, validation), ""


# --- candidates ------------------------------------------------------------------------------


def _candidate_from(
    attempt: Attempt, context: SolveContext, gathered: Gathered, tracer: Tracer
) -> Candidate:
    skill = attempt.skill
    saved = savings(context, attempt.validation, skill.expected_recovery)
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
            recovery=saved.recovery,
            estimated_watts=saved.estimated_watts,
        ),
        risks=rationale_text.risks(skill, context),
        expected_recovery=skill.expected_recovery,
        estimated_watts=saved.estimated_watts,
        measured_watts=saved.measured_watts,
        validation=attempt.validation,
        trace=list(tracer.records),
        backend="offline",
    )


def _analysis_from(
    item: RankedSkill,
    context: SolveContext,
    gathered: Gathered,
    tracer: Tracer,
    refusals: list[dict[str, str]],
) -> Candidate:
    """A diagnosis-only skill's write-up, when no codemod produced a change that passes."""
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
        estimated_watts=context.fleet.watts(context.magnitude_pct, item.skill.expected_recovery),
        trace=list(tracer.records),
        refusals=refusals,
    )


# --- the solve -------------------------------------------------------------------------------


def solve(
    context: SolveContext, *, bench_runs: int | None = None, progress: Progress | None = None
) -> Candidate:
    """Turn a finding's context into a validated candidate, an analysis, or no fix with reasons.

    `bench_runs` overrides WATTSON_BENCH_RUNS for this solve.
    """
    _test_sleep_hook()
    with scratch(context, Limits.from_settings(bench_runs=bench_runs)) as (root, bench):
        return _solve_in(root, context, bench, progress)


def _solve_in(
    root: Path, context: SolveContext, bench: Bench, progress: Progress | None
) -> Candidate:
    tracer = Tracer(make_sandbox(root, context), progress)
    gathered = gather(context, root, tracer)
    ranked, refusals = rank_skills(context, code_for_triggers(gathered))
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
        return _analysis_from(diagnosis[0], context, gathered, tracer, refusals)
    tried = [r["skill"] for r in refusals if not r["reason"].startswith("not applicable")]
    reason = (
        f"no skill produced a change that passes validation (tried {', '.join(tried)})"
        if tried
        else "no enabled skill applies to this finding"
    )
    return Candidate(
        outcome="no_fix", trace=list(tracer.records), refusals=refusals, no_fix_reason=reason
    )
