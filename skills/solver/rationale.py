"""Rationale markdown: what was changed where, why it saves CPU, and what was measured."""

from __future__ import annotations

import re

from skills.solver.types import SkillSpec, SolveContext, Validation


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _commit_line(context: SolveContext, sha: str, subject: str, author: str) -> str:
    if context.kind != "regression" or not sha:
        return ""
    who = f" by {author}" if author else ""
    return f"The regression came in with commit {_code(sha[:10])} “{subject}”{who}."


def _measured_line(context: SolveContext, validation: Validation) -> str:
    lines: list[str] = []
    if validation.tests_passed:
        lines.append(f"- Tests ({_code(context.test_cmd)}) pass with the change.")
    elif validation.tests_passed is None:
        lines.append("- The repository has no test command: the change is not covered by tests.")
    before, after = validation.bench_before_s, validation.bench_after_s
    if before and after:
        speedup = before / max(after, 1e-9)
        runs = re.findall(r"median of (\d+)", validation.bench_log)
        how = f"median of {runs[-1]} runs" if runs else "measured"
        lines.append(
            f"- Benchmark ({_code(context.bench_cmd)}, {how}): "
            f"{before:.4f} s before → {after:.4f} s after, {speedup:.1f}× faster "
            f"({(1 - after / before):.0%} of its time removed)."
        )
        lines.append(_regression_line(context, validation))
    elif context.bench_cmd:
        lines.append("- The benchmark could not be measured; see the validation log.")
    else:
        lines.append("- The repository has no benchmark command: the saving is not measured.")
    return "\n".join(line for line in lines if line)


def _regression_line(context: SolveContext, validation: Validation) -> str:
    """What share of the regression the fix undoes, or why recovery is measured otherwise."""
    if context.kind != "regression":
        return ""
    before, after, parent = (
        validation.bench_before_s,
        validation.bench_after_s,
        validation.bench_parent_s,
    )
    recovery = validation.measured_recovery
    if parent is not None and before and after is not None and recovery is not None:
        return (
            f"- Before the regression (the root-cause commit's parent): the root cause made it "
            f"{before / max(parent, 1e-9):.1f}× slower ({parent:.4f} s → {before:.4f} s); the fix "
            f"brings it to {after:.4f} s: {recovery:.0%} of the regression undone."
        )
    if validation.bench_parent_note:
        return (
            "- Recovery is the share of the benchmark's time removed, not the share of the "
            f"regression undone: {validation.bench_parent_note}."
        )
    return ""


def _savings_line(
    context: SolveContext,
    watts: float,
    recovery: float,
    measured: bool,
    *,
    of_regression: bool = False,
) -> str:
    fleet = context.fleet
    source = "measured" if measured else "the skill's expected"
    if measured and of_regression:
        source = "measured: the share of the regression undone"
    dollars = fleet.dollars_per_year(watts)
    return (
        f"**Estimated savings:** {watts:,.0f} W (≈ ${dollars:,.0f}/year): "
        f"{fleet.servers:,} servers × {fleet.watts_per_server:g} W × PUE {fleet.pue:g} × "
        f"{context.magnitude_pct:g}% of {context.service}'s CPU × {recovery:.0%} recovery "
        f"({source})."
    )


def for_proposal(
    *,
    context: SolveContext,
    skill: SkillSpec,
    function: str,
    path: str,
    first_line: int,
    last_line: int,
    summary: str,
    validation: Validation,
    commit_sha: str,
    commit_subject: str,
    commit_author: str,
    recovery: float,
    estimated_watts: float,
) -> str:
    lines = f"line {first_line}" if first_line == last_line else f"lines {first_line}–{last_line}"
    parts = [
        f"**{skill.name}** on {_code(function)} in {_code(path)}, {lines}.",
        _commit_line(context, commit_sha, commit_subject, commit_author),
        f"**What the change does:** {summary.strip()}",
    ]
    if skill.description.strip():
        parts.append(f"**Why it saves CPU:** {skill.description.strip()}")
    parts.append("**Validated** in a scratch worktree of " + _code(context.default_branch) + ":")
    parts.append(_measured_line(context, validation))
    parts.append(
        _savings_line(
            context,
            estimated_watts,
            recovery,
            validation.measured_recovery is not None,
            of_regression=validation.bench_parent_s is not None,
        )
    )
    return "\n\n".join(part for part in parts if part) + "\n"


def for_model_proposal(
    *,
    context: SolveContext,
    model: str,
    skill_name: str,
    text: str,
    validation: Validation,
    recovery: float,
    estimated_watts: float,
) -> str:
    """The model's own rationale, then what Wattson checked and measured (as for_proposal)."""
    parts = [
        text.strip(),
        f"*Proposed by `{model}` (Anthropic backend) applying **{skill_name}**; the checks "
        "below are Wattson's own.*",
        "**Validated** in a scratch worktree of " + _code(context.default_branch) + ":",
        _measured_line(context, validation),
        _savings_line(
            context,
            estimated_watts,
            recovery,
            validation.measured_recovery is not None,
            of_regression=validation.bench_parent_s is not None,
        ),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def for_analysis(
    *,
    context: SolveContext,
    skill: SkillSpec,
    targets: list[tuple[str, str, int | None]],
    commit_sha: str,
    commit_subject: str,
    refusals: list[dict[str, str]],
) -> str:
    where = "; ".join(
        f"{_code(symbol)} in {_code(path)}" + (f" line {line}" if line else "")
        for symbol, path, line in targets
    )
    parts = [
        f"**Analysis only ({skill.name})** — no automatic change passed validation, so this is "
        "guidance for a human fix, not a patch.",
        f"Where: {where}.",
        _commit_line(context, commit_sha, commit_subject, ""),
    ]
    if skill.instructions.strip():
        parts.append("**Diagnosis:**\n\n" + skill.instructions.strip())
    if skill.mitigation.strip():
        parts.append("**Suggested mitigation:**\n\n" + skill.mitigation.strip())
    tried = [r for r in refusals if not r["reason"].startswith("not applicable")]
    if tried:
        parts.append(
            "**Codemods tried:**\n\n"
            + "\n".join(f"- {r['skill']}: {r['reason'].splitlines()[0]}" for r in tried)
        )
    return "\n\n".join(part for part in parts if part) + "\n"


def risks(skill: SkillSpec, context: SolveContext) -> str:
    if skill.slug == "revert-hunk":
        return (
            "Reverts part of the root-cause commit inside the regressed function only: any "
            "behaviour that commit meant to add there is undone. Check the commit's intent."
        )
    if skill.slug == "memoize":
        return (
            "Caching assumes the function is pure and its inputs are hashable and few; a cache "
            "keeps results alive for the life of the process."
        )
    return "The tests passed; review behaviour the tests do not cover."
