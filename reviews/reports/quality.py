"""Skill quality in a report: acceptance per skill and per version, and why fixes were rejected.

The interval is skills.services.wilson_bounds, the same one the skill statistics and the
solver's ranking use.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Sum

from reviews.models import Decision, DecisionWeek
from reviews.reports.scope import Scope, edges, rollup
from skills.models import Skill
from skills.services import wilson_bounds

_KEYS = ("skill_slug", "skill_version_number", "verdict", "reason")
# An acknowledged analysis counts for its skill as skills.services counts it.
_AS_VERDICT = {Decision.Verdict.USEFUL: "approve", Decision.Verdict.NOT_USEFUL: "reject"}


@dataclass
class SkillQuality:
    skill: str
    version: int | None
    approved: int
    rejected: int
    changes_requested: int
    acceptance_rate: float | None
    wilson_low: float | None
    wilson_high: float | None
    needs_attention: bool


@dataclass
class QualityReport:
    skills: list[SkillQuality]
    rejection_reasons: list[dict]
    needs_attention: list[str]


def _decision_rows(scope: Scope) -> list[dict]:
    rows: list[dict] = []
    weeks = rollup(DecisionWeek.objects.all(), scope)
    if weeks is not None:
        rows += list(weeks.values(*_KEYS).annotate(n=Sum("decisions")).order_by())
    for part in edges(Decision.objects.filter(dismissed=False), scope, "created_at"):
        rows += [
            {**row, "skill_version_number": row["skill_version_number"] or 0}
            for row in part.values(*_KEYS).annotate(n=Count("id")).order_by()
        ]
    return rows


def _count(rows: list[dict]) -> tuple[dict[tuple[str, int | None], dict[str, int]], dict]:
    """Verdicts per (skill, None) and (skill, version); rejection reasons over all skills."""
    counts: dict[tuple[str, int | None], dict[str, int]] = {}
    reasons: dict[str, int] = {}
    for row in rows:
        if not row["skill_slug"] or not row["n"]:
            continue
        keys = [(row["skill_slug"], None)]
        if row["skill_version_number"]:
            keys.append((row["skill_slug"], row["skill_version_number"]))
        verdict = _AS_VERDICT.get(row["verdict"], row["verdict"])
        for key in keys:
            entry = counts.setdefault(key, {"approve": 0, "reject": 0, "request_changes": 0})
            entry[verdict] = entry.get(verdict, 0) + row["n"]
        if row["verdict"] == Decision.Verdict.REJECT:
            reason = row["reason"] or "other"
            reasons[reason] = reasons.get(reason, 0) + row["n"]
    return counts, reasons


def _quality(slug: str, version: int | None, entry: dict[str, int], attention: set) -> SkillQuality:
    decided = entry["approve"] + entry["reject"]
    interval = wilson_bounds(entry["approve"], decided)
    return SkillQuality(
        skill=slug,
        version=version,
        approved=entry["approve"],
        rejected=entry["reject"],
        changes_requested=entry["request_changes"],
        acceptance_rate=(entry["approve"] / decided) if decided else None,
        wilson_low=interval[0] if interval else None,
        wilson_high=interval[1] if interval else None,
        needs_attention=slug in attention,
    )


def skill_quality(scope: Scope) -> QualityReport:
    """Acceptance per skill and per version, and the rejection reasons."""
    attention = set(Skill.objects.filter(needs_attention=True).values_list("slug", flat=True))
    counts, reasons = _count(_decision_rows(scope))
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], item[0][1] or 0))
    skills = [_quality(slug, version, entry, attention) for (slug, version), entry in ordered]
    labels = dict(Decision.Reason.choices)
    rejection_reasons = [
        {"reason": reason, "label": labels.get(reason, reason), "count": n}
        for reason, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]
    return QualityReport(skills, rejection_reasons, sorted(attention))
