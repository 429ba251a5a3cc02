"""Which skills apply to a finding, and in what order the solver tries them.

Score = trigger match × quality. Quality is the skill's Wilson lower bound from review
statistics once there is one, else a fixed prior, so a new skill is neither favoured nor buried.
A finding's `pattern` hint doubles its skill's score. Skills flagged `needs_attention` go last,
and `revert-hunk` (the defense fallback) goes after every specific skill.

A diagnosis-only skill (no codemod) is offered only when its own code patterns appear in the
code (issue #12 item 1): an analysis of lock contention in code with no lock costs a reviewer
time and trust. A skill with a codemod whose patterns do not appear is still tried, last: its
codemod refuses for a reason of its own.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from skills.solver.types import SkillSpec, SolveContext

QUALITY_PRIOR = 0.5
PATTERN_HINT_BOOST = 2.0
# Specific skills whose code patterns do not appear in the function are still tried (the
# codemod decides), but after those whose patterns do.
UNMATCHED_CODE_PATTERN_FACTOR = 0.3
# A codemod skill with no code pattern at all (a call of a one-line helper is not visible in
# text) fits every function alike: it is tried after the skills whose patterns appear, before
# those whose patterns do not.
GENERIC_TRIGGER_FACTOR = 0.6
FALLBACK_SLUGS = frozenset({"revert-hunk"})
# Where a trigger's code_patterns are searched (the key prefixes of gather.code_for_triggers):
# "any" (the default for a skill with a codemod) also reads the root-cause diff; "function"
# (the default for a diagnosis-only skill) the finding's functions and what they call; "loop"
# only the bodies of their loops and the functions those loops call.
CODE_SCOPES = ("any", "function", "loop")


@dataclass(frozen=True)
class RankedSkill:
    skill: SkillSpec
    match: float  # 0 < match <= 1: how well the trigger fits
    quality: float
    score: float
    fallback: bool
    reasons: tuple[str, ...]  # why it matched, for the trace

    @property
    def slug(self) -> str:
        return self.skill.slug


def is_fallback(skill: SkillSpec) -> bool:
    return skill.slug in FALLBACK_SLUGS or bool((skill.trigger or {}).get("fallback"))


def _as_list(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(item) for item in value]
    return [str(value)]


def _safe_search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text, re.M) is not None
    except re.error:
        return False


def trigger_match(
    skill: SkillSpec, context: SolveContext, code: Mapping[str, str] | None = None
) -> tuple[float, tuple[str, ...]] | tuple[None, str]:
    """(match, reasons) when the skill's trigger fits the finding, else (None, why not).

    `code` maps a function symbol to its source (and, for regressions, may hold the root-cause
    diff under the key "root_cause_diff"); code patterns are searched there.
    """
    trigger = skill.trigger or {}
    reasons: list[str] = []
    if skill.side == "offense" and context.kind != "opportunity":
        return None, "an offense skill, and this finding is a regression"
    if skill.side == "defense" and context.kind != "regression":
        return None, "a defense skill, and this finding is an opportunity"
    kinds = _as_list(trigger.get("kinds"))
    if kinds and context.kind not in kinds:
        return None, f"triggers on {', '.join(kinds)}, not {context.kind}"
    metrics = _as_list(trigger.get("metrics"))
    if metrics and context.metric not in metrics:
        return None, f"triggers on metric {', '.join(metrics)}, not {context.metric}"
    if trigger.get("needs_root_cause") and context.root_cause is None:
        return None, "needs a root-cause commit and the finding has none"
    globs = _as_list(trigger.get("file_globs"))
    files = [f.file for f in context.functions if f.file]
    if globs and files:
        if not any(fnmatch.fnmatch(name, glob) for name in files for glob in globs):
            return None, f"no function file matches {', '.join(globs)}"
        reasons.append("file matches " + ", ".join(globs))
    symbol_pattern = trigger.get("symbol_pattern") or ""
    if symbol_pattern:
        if not any(_safe_search(symbol_pattern, f.symbol) for f in context.functions):
            return None, f"no function symbol matches /{symbol_pattern}/"
        reasons.append(f"symbol matches /{symbol_pattern}/")
    match = 1.0
    patterns = _as_list(trigger.get("code_patterns"))
    diagnosis_only = not skill.codemod
    if diagnosis_only and not patterns:
        return None, "a diagnosis-only skill with no code pattern to look for"
    if not patterns and not is_fallback(skill):
        match = GENERIC_TRIGGER_FACTOR
        reasons.append("no code pattern: the codemod decides")
    if patterns:
        scope = str(trigger.get("code_scope") or ("function" if diagnosis_only else "any"))
        texts = _scoped(code or {}, scope)
        hits = [p for p in patterns if any(_safe_search(p, text) for text in texts)]
        if hits:
            where = {"loop": "code in a loop", "function": "code"}.get(scope, "code")
            reasons.append(f"{where} matches " + ", ".join(f"/{p}/" for p in hits[:3]))
        elif diagnosis_only:
            return None, _no_trigger(patterns, scope)
        else:
            match = UNMATCHED_CODE_PATTERN_FACTOR
            reasons.append("none of its code patterns appear in the function")
    return match, tuple(reasons)


def _scoped(code: Mapping[str, str], scope: str) -> list[str]:
    """The texts a code scope searches (see CODE_SCOPES; an unknown scope reads everything)."""
    if scope == "loop":
        return [text for key, text in code.items() if key.startswith("loops:")]
    if scope == "function":
        return [text for key, text in code.items() if key != "root_cause_diff"]
    return list(code.values())


def _no_trigger(patterns: list[str], scope: str) -> str:
    where = {
        "loop": "inside a loop of the function or of what it calls",
        "function": "in the function or what it calls",
    }.get(scope, "in the function, what it calls or the root-cause change")
    shown = ", ".join(f"/{p}/" for p in patterns[:5])
    return f"diagnosis only, and none of its code patterns appears {where} ({shown})"


def rank_skills(
    context: SolveContext, code: Mapping[str, str] | None = None
) -> tuple[list[RankedSkill], list[dict[str, str]]]:
    """Applicable skills best first, plus [{"skill", "reason"}] for each one that does not apply."""
    ranked: list[RankedSkill] = []
    not_applicable: list[dict[str, str]] = []
    for skill in context.skills:
        match, detail = trigger_match(skill, context, code)
        if match is None:
            not_applicable.append({"skill": skill.slug, "reason": f"not applicable: {detail}"})
            continue
        quality = (
            skill.quality_lower_bound if skill.quality_lower_bound is not None else QUALITY_PRIOR
        )
        score = match * quality
        reasons = list(detail)
        if context.pattern and context.pattern == skill.slug:
            score *= PATTERN_HINT_BOOST
            reasons.append("the finding suggests this pattern")
        if skill.needs_attention:
            reasons.append("needs attention: tried last")
        ranked.append(
            RankedSkill(
                skill=skill,
                match=match,
                quality=quality,
                score=score,
                fallback=is_fallback(skill),
                reasons=tuple(reasons),
            )
        )
    ranked.sort(key=lambda r: (r.skill.needs_attention, r.fallback, -r.score, r.skill.slug))
    return ranked, not_applicable
