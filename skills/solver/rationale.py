"""Rationale markdown: what was changed where, why it saves CPU, and what was measured."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    if validation.tests_passed and validation.baseline_failures:
        failing = ", ".join(_code(test) for test in validation.baseline_failures[:10])
        lines.append(
            f"- Tests ({_code(context.test_cmd)}): the change adds no failure. "
            f"{len(validation.baseline_failures)} test(s) already fail on the unchanged code "
            f"and do not count against it: {failing}."
        )
    elif validation.tests_passed:
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
    context: SolveContext, watts: float, recovery: float, validation: Validation
) -> str:
    """The estimate (the skill's expected recovery) and, apart, what validation measured."""
    measured_recovery = validation.measured_recovery
    # Measured against the regression's parent when it was benchmarked, else the benchmark.
    of_regression = validation.bench_parent_s is not None
    fleet = context.fleet
    basis = (
        f"{fleet.servers:,} servers × {fleet.watts_per_server:g} W × PUE {fleet.pue:g} × "
        f"{context.magnitude_pct:g}% of {context.service}'s CPU"
    )
    lines = [
        f"**Estimated savings:** {watts:,.0f} W (≈ ${fleet.dollars_per_year(watts):,.0f}/year): "
        f"{basis} × {recovery:.0%} recovery (the skill's expected)."
    ]
    if measured_recovery is not None:
        source = "the share of the regression undone" if of_regression else "the benchmark"
        measured = fleet.watts(context.magnitude_pct, measured_recovery)
        lines.append(
            f"**Measured savings:** {measured:,.0f} W "
            f"(≈ ${fleet.dollars_per_year(measured):,.0f}/year): {basis} × "
            f"{measured_recovery:.0%} recovery (measured: {source})."
        )
    return "\n\n".join(lines)


@dataclass(frozen=True)
class Part:
    """One skill's change in a proposal (a composed proposal has two)."""

    skill: SkillSpec
    function: str
    path: str
    first_line: int
    last_line: int
    summary: str
    # Set when the change is in a function the finding did not name: the caller it was reached
    # from, and whether that caller calls it in a loop.
    via: str = ""
    in_loop: bool = False


def _where(part: Part) -> str:
    first, last = part.first_line, part.last_line
    lines = f"line {first}" if first == last else f"lines {first}–{last}"
    return f"**{part.skill.name}** on {_code(part.function)} in {_code(part.path)}, {lines}."


def _elsewhere(part: Part) -> str:
    """Why a change sits in another function than the one the finding named."""
    if not part.via:
        return ""
    how = "in a loop" if part.in_loop else ""
    return (
        f"**Why here:** the finding names {_code(part.via)}, which calls "
        f"{_code(part.function)}{' ' + how if how else ''}; the slow pattern is in the callee, "
        "so the change is there and every caller gains from it."
    )


def for_proposal(
    *,
    context: SolveContext,
    parts: list[Part],
    validation: Validation,
    commit_sha: str,
    commit_subject: str,
    commit_author: str,
    recovery: float,
    estimated_watts: float,
    singles: list[str] | None = None,
) -> str:
    """The rationale of an offline proposal: one part, or two skills' changes as one patch.

    `singles` (composed proposals) says how each skill's change alone measured.
    """
    parts_text: list[str] = []
    if len(parts) > 1:
        names = " and ".join(f"**{part.skill.name}**" for part in parts)
        parts_text.append(
            f"Two skills, one patch: {names} each passed validation on this finding; both "
            "changes together were validated as one patch, which is proposed because it did no "
            "worse than the better change alone (figures below)."
        )
    parts_text.append(_commit_line(context, commit_sha, commit_subject, commit_author))
    for part in parts:
        parts_text += [_where(part), _elsewhere(part)]
        parts_text.append(f"**What the change does:** {part.summary.strip()}")
        if part.skill.description.strip():
            parts_text.append(f"**Why it saves CPU:** {part.skill.description.strip()}")
    branch = _code(context.default_branch)
    parts_text.append(f"**Validated** in a scratch worktree of {branch}:")
    parts_text.append(_measured_line(context, validation))
    if singles:
        parts_text.append("**Each change alone:**\n\n" + "\n".join(f"- {line}" for line in singles))
    parts_text.append(_savings_line(context, estimated_watts, recovery, validation))
    return "\n\n".join(part for part in parts_text if part) + "\n"


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
        _savings_line(context, estimated_watts, recovery, validation),
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
