"""The offline solver: gather context with the tools, try ranked skills' codemods, validate.

`solve(context)` tries each ranked skill's codemod on the finding's functions, then on the
repository functions they call (skills.solver.callgraph), and keeps a skill's first change whose
patch applies, whose tests add no failure and whose benchmark gets faster. With two such changes
from different skills, both together are validated as one patch and proposed unless the better
one alone measured faster. Otherwise an analysis from a diagnosis-only skill whose trigger
matched the code, otherwise "no_fix" with the reason each skill was refused. It needs no network
and never imports `reviews`. The scratch set-up, validation, verdict and savings are the shared
pipeline's (skills.solver.pipeline); this module only turns skills' codemods into diffs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings

from skills.codemods import CodemodInput, CodemodRefused, CodemodResult, run_codemod
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
# Passing fixes from different skills collected before choosing: two are composed into one
# patch when together they measure no worse (issue #12 item 5).
MAX_COMPOSED = 2


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
    new_source: str = ""  # the target's file after the codemod (composition reruns from it)


@dataclass(frozen=True)
class Edit:
    """One codemod's change to one file, not yet validated."""

    diff: str
    summary: str
    first_line: int
    last_line: int
    new_source: str


def run_codemod_on(
    skill: SkillSpec,
    target: TargetFunction,
    context: SolveContext,
    root: Path,
    tracer: Tracer,
    source: str | None = None,
) -> tuple[CodemodResult | None, str]:
    """(result, "") of one codemod on `target` (or on `source`, its file as already changed by
    another skill's codemod), else (None, why it refused)."""
    where = target.ref.symbol
    arguments = {"skill": skill.slug, "codemod": skill.codemod, "function": where}
    started = time.perf_counter()
    try:
        result = run_codemod(
            skill.codemod,
            CodemodInput(
                source=target.file_source if source is None else source,
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
        return None, f"{where}: {exc}"
    except KeyError:
        tracer.step("codemod", arguments, "unknown", started, error="no such codemod")
        return None, f"no codemod named {skill.codemod!r} is registered"
    except Exception as exc:  # a crashing codemod is refused, not fatal
        tracer.step("codemod", arguments, "crashed", started, error=repr(exc))
        return None, f"{where}: the codemod crashed ({type(exc).__name__}: {exc})"
    tracer.step("codemod", arguments, result.summary, started)
    return result, ""


def diff_of(root: Path, sources: dict[str, str]) -> str:
    """The diff of writing `sources` ({path: text}) in the worktree, which is then restored."""
    for path, text in sources.items():
        (root / path).write_text(text)
    diff = worktree_diff(root, *sources)
    run_git(root, "checkout", "--quiet", "--", *sources)
    return diff


def _codemod_edit(
    item: RankedSkill, target: TargetFunction, context: SolveContext, root: Path, tracer: Tracer
) -> tuple[Edit | None, str]:
    """(edit, "") from one codemod, or (None, why not)."""
    where = target.ref.symbol
    result, refusal = run_codemod_on(item.skill, target, context, root, tracer)
    if result is None:
        return None, refusal
    diff = diff_of(root, {target.path: result.new_source})
    if not diff.strip():
        return None, f"{where}: the codemod changed nothing"
    if context.previous_diff and diff.strip() == context.previous_diff.strip():
        return None, f"{where}: the same diff as the revision the reviewer asked to change"
    return Edit(diff, result.summary, result.first_line, result.last_line, result.new_source), ""


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
    edit, refusal = _codemod_edit(item, target, context, root, tracer)
    if edit is None:
        return None, refusal
    if bench.remaining() < MIN_VALIDATION_BUDGET_S:
        return None, f"{where}: no time left to validate it within the solve timeout"
    validation, verdict = validate_diff(
        root,
        edit.diff,
        context=context,
        bench=bench,
        tracer=tracer,
        arguments={"skill": item.skill.slug, "function": where},
    )
    if verdict:
        return None, f"{where}: {verdict}"
    attempt = Attempt(
        item.skill,
        target,
        edit.diff,
        edit.summary,
        edit.first_line,
        edit.last_line,
        validation,
        edit.new_source,
    )
    return attempt, ""


# --- candidates ------------------------------------------------------------------------------


def _part(attempt: Attempt) -> rationale_text.Part:
    target = attempt.target
    return rationale_text.Part(
        skill=attempt.skill,
        function=target.ref.symbol,
        path=target.path,
        first_line=attempt.first_line,
        last_line=attempt.last_line,
        summary=attempt.summary,
        via=target.via,
        in_loop=target.in_loop,
    )


def _speedup(validation: Validation) -> float | None:
    before, after = validation.bench_before_s, validation.bench_after_s
    return before / max(after, 1e-9) if before and after else None


def _candidate_from(
    attempt: Attempt,
    context: SolveContext,
    gathered: Gathered,
    tracer: Tracer,
    *,
    also: tuple[Attempt, ...] = (),
    singles: tuple[Attempt, ...] = (),
) -> Candidate:
    """The proposal of one attempt; `also` are the attempts composed into the same patch."""
    skill = attempt.skill
    saved = savings(context, attempt.validation, skill.expected_recovery)
    single_lines = [
        f"{single.skill.slug}: "
        + (f"{speed:.2f}× faster" if (speed := _speedup(single.validation)) else "not measured")
        for single in singles
    ]
    return Candidate(
        outcome="proposal",
        skill_slug=skill.slug,
        skill_version_id=skill.version_id,
        diff=attempt.diff,
        rationale=rationale_text.for_proposal(
            context=context,
            parts=[_part(attempt), *(_part(other) for other in also)],
            validation=attempt.validation,
            commit_sha=gathered.commit_sha,
            commit_subject=gathered.commit_subject,
            commit_author=gathered.commit_author,
            recovery=saved.recovery,
            estimated_watts=saved.estimated_watts,
            singles=single_lines,
        ),
        risks="\n\n".join(
            dict.fromkeys(rationale_text.risks(a.skill, context) for a in (attempt, *also))
        ),
        expected_recovery=skill.expected_recovery,
        estimated_watts=saved.estimated_watts,
        measured_watts=saved.measured_watts,
        validation=attempt.validation,
        trace=list(tracer.records),
        backend="offline",
        also_skills=[{"slug": a.skill.slug, "version_id": a.skill.version_id} for a in also],
    )


# --- composing two fixes ---------------------------------------------------------------------


def _combine(
    first: Attempt,
    second: Attempt,
    context: SolveContext,
    root: Path,
    tracer: Tracer,
    bench: Bench,
) -> tuple[Attempt | None, Attempt | None, str]:
    """Both changes as one patch, validated: (combined, the second part as applied, "") or
    (None, None, why not). In the same file, the second codemod reruns on the first's output
    (written to the worktree, so analysis over the repository sees it)."""
    sources = {first.target.path: first.new_source}
    part = second
    if second.target.path == first.target.path:
        path = first.target.path
        (root / path).write_text(first.new_source)
        try:
            result, refusal = run_codemod_on(
                second.skill, second.target, context, root, tracer, source=first.new_source
            )
        finally:
            run_git(root, "checkout", "--quiet", "--", path)
        if result is None:
            return None, None, f"after {first.skill.slug}: {refusal}"
        sources[path] = result.new_source
        part = replace(
            second,
            summary=result.summary,
            first_line=result.first_line,
            last_line=result.last_line,
        )
    else:
        sources[second.target.path] = second.new_source
    diff = diff_of(root, sources)
    if bench.remaining() < MIN_VALIDATION_BUDGET_S:
        return None, None, "no time left to validate the combination"
    validation, verdict = validate_diff(
        root,
        diff,
        context=context,
        bench=bench,
        tracer=tracer,
        arguments={"skills": [first.skill.slug, second.skill.slug], "composed": True},
    )
    if verdict:
        return None, None, verdict
    return replace(first, diff=diff, validation=validation), part, ""


def _clearly_faster(single: Attempt, combined: Attempt, bench: Bench) -> bool:
    """Does the single fix beat the combination by more than measuring noise?

    Measured at different times, their baselines and ratios drift with the machine's load: the
    single fix wins only when faster by WATTSON_MIN_SPEEDUP both in speed-up and in its own
    time; otherwise the combination keeps the change that removes work, not only the cache.
    """
    margin, one, both = bench.limits.min_speedup, single.validation, combined.validation
    alone, together = _speedup(one), _speedup(both)
    if not (alone and together and one.bench_after_s and both.bench_after_s):
        return False
    return together * margin < alone and one.bench_after_s * margin < both.bench_after_s


def _best(
    passing: list[Attempt], context: SolveContext, root: Path, tracer: Tracer, bench: Bench
) -> tuple[Attempt, tuple[Attempt, ...], tuple[Attempt, ...]]:
    """(the attempt to propose, the parts composed into it, the singles it was compared with).

    With two passing fixes, both together are validated as one patch and proposed unless the
    better single fix measured clearly faster (by WATTSON_MIN_SPEEDUP); each single is compared
    by its own interleaved before/after ratio, since the runs were made at different times.
    """
    ranked = sorted(passing, key=lambda a: -(_speedup(a.validation) or 0.0))
    best = ranked[0]
    if len(passing) < 2:
        return best, (), ()
    first, second = passing[0], passing[1]
    started = time.perf_counter()
    combined, part, why_not = _combine(first, second, context, root, tracer, bench)
    if combined is None or part is None:
        tracer.step(
            "compose",
            {"skills": [first.skill.slug, second.skill.slug]},
            "",
            started,
            error=f"not composed: {why_not}",
        )
        return best, (), ()
    together, alone = _speedup(combined.validation), _speedup(best.validation)
    slower = _clearly_faster(best, combined, bench)
    tracer.step(
        "compose",
        {"skills": [first.skill.slug, second.skill.slug]},
        f"the combination ({together:.2f}×) measured slower than {best.skill.slug} alone "
        f"({alone:.2f}×): proposing {best.skill.slug}"
        if slower
        else "proposing both as one patch",
        started,
    )
    return (best, (), ()) if slower else (combined, (part,), (first, second))


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
    passing: list[Attempt] = []
    for item in ranked:
        if not item.skill.codemod:
            diagnosis.append(item)
            continue
        if len(passing) >= MAX_COMPOSED:
            break
        attempt, reasons = _first_passing(item, gathered, context, root, tracer, bench)
        if attempt is not None:
            passing.append(attempt)
        else:
            refusals.append({"skill": item.slug, "reason": "\n".join(reasons)})

    if passing:
        chosen, also, singles = _best(passing, context, root, tracer, bench)
        regression_parent(chosen.validation, context, bench, tracer.step, gathered.commit_sha)
        candidate = _candidate_from(chosen, context, gathered, tracer, also=also, singles=singles)
        candidate.refusals = refusals
        return candidate
    if diagnosis:
        return _analysis_from(diagnosis[0], context, gathered, tracer, refusals)
    tried = [r["skill"] for r in refusals if not r["reason"].startswith("not applicable")]
    reason = (
        f"no skill produced a change that passes validation (tried {', '.join(tried)})"
        if tried
        else "no enabled skill applies to this finding"
    )
    if bench.tests_baseline is not None and not bench.tests_baseline.runnable:
        reason = bench.tests_baseline.why_not_runnable()
    return Candidate(
        outcome="no_fix", trace=list(tracer.records), refusals=refusals, no_fix_reason=reason
    )


def _first_passing(
    item: RankedSkill,
    gathered: Gathered,
    context: SolveContext,
    root: Path,
    tracer: Tracer,
    bench: Bench,
) -> tuple[Attempt | None, list[str]]:
    """The skill's first passing change: on the finding's functions, then on what they call
    (issue #12 item 4: the time may be spent in a helper). (attempt, []) or (None, reasons)."""
    reasons: list[str] = []
    for target in [*gathered.targets, *gathered.callees]:
        attempt, reason = _try_skill(item, target, context, root, tracer, bench)
        if attempt is not None:
            return attempt, []
        reasons.append(reason)
    return None, reasons
