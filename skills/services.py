"""Skill quality feedback: every review decision updates SkillStats, per skill and per version.

`reviews` tells us the outcome of each decision as plain data (DESIGN.md: dependencies point
reviews → skills), so nothing here reads `reviews`: even the rebuild is handed its decisions.
The incremental path (`skill_stats_record`) and the rebuild (`skill_stats_rebuild`) share one
accumulation function, so processing the same decisions in the same order gives identical rows.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from skills.models import Skill, SkillStats, SkillVersion

APPROVE = "approve"
REJECT = "reject"
REQUEST_CHANGES = "request_changes"
# An analysis (no diff) acknowledged by a reviewer: useful counts as an acceptance and not
# useful as a rejection of the skill's work, and neither banks any watts.
USEFUL = "useful"
NOT_USEFUL = "not_useful"
VERDICTS = (APPROVE, REJECT, REQUEST_CHANGES, USEFUL, NOT_USEFUL)
# z for a two-sided 95% interval.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class DecisionRecord:
    """One review decision as the statistics see it."""

    skill_version_id: int
    verdict: str
    reason: str = ""
    watts: float = 0.0  # the proposal's measured watts, else its estimate; counted on approve
    decision_seconds: float = 0.0  # proposal creation → decision
    # The other skills composed into the same patch (issue #12 item 5): each gets the decision.
    also_version_ids: tuple[int, ...] = ()


def credited_versions(
    skill_version_id: int, also_version_ids: Iterable[int], watts: float
) -> list[tuple[int, float]]:
    """(version id, watts) for each skill a decision counts for: the proposal's own skill and
    every skill composed into its patch, each once.

    Every skill counts the verdict; an approval's watts are shared equally, because the patch
    saved them together and the sum over skills must stay what the approval banked.
    """
    versions = list(dict.fromkeys([skill_version_id, *also_version_ids]))
    share = float(watts) / len(versions)
    return [(version_id, share) for version_id in versions]


def wilson_bounds(successes: int, total: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion; None without observations."""
    if total <= 0:
        return None
    p = successes / total
    denominator = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    lower = max(0.0, (centre - margin) / denominator)
    upper = min(1.0, (centre + margin) / denominator)
    return lower, upper


def wilson_lower_bound(successes: int, total: int) -> float | None:
    bounds = wilson_bounds(successes, total)
    return None if bounds is None else bounds[0]


def approved_watts(*, estimated_watts: float | None, measured_watts: float | None) -> float:
    """What an approval banks: the measured watts when validation measured them."""
    if measured_watts is not None:
        return float(measured_watts)
    return float(estimated_watts or 0.0)


def needs_attention(stats: SkillStats) -> bool:
    """Enough approve/reject decisions, and even the optimistic reading of them is poor."""
    decided = stats.approved + stats.rejected
    if decided < settings.WATTSON_ATTENTION_MIN_DECISIONS or stats.wilson_lower is None:
        return False
    return stats.wilson_lower < settings.WATTSON_ATTENTION_MAX_LOWER_BOUND


def _accumulate(
    stats: SkillStats, *, verdict: str, reason: str, watts: float, decision_seconds: float
) -> None:
    """Add one decision to a stats row in memory; the single arithmetic both paths use."""
    if verdict == APPROVE:
        stats.approved += 1
        stats.banked_watts = float(stats.banked_watts) + float(watts)
    elif verdict == REJECT:
        stats.rejected += 1
        key = reason or "other"
        reasons = dict(stats.rejection_reasons or {})
        reasons[key] = int(reasons.get(key, 0)) + 1
        stats.rejection_reasons = reasons
    elif verdict == REQUEST_CHANGES:
        stats.changes_requested += 1
    elif verdict == USEFUL:
        stats.approved += 1
    elif verdict == NOT_USEFUL:
        stats.rejected += 1
        reasons = dict(stats.rejection_reasons or {})
        reasons[NOT_USEFUL] = int(reasons.get(NOT_USEFUL, 0)) + 1
        stats.rejection_reasons = reasons
    else:
        raise ValueError(f"unknown verdict {verdict!r}")
    durations = [float(value) for value in (stats.decision_seconds or [])]
    bisect.insort(durations, max(0.0, float(decision_seconds)))
    stats.decision_seconds = durations
    decided = stats.approved + stats.rejected
    stats.acceptance_rate = stats.approved / decided if decided else None
    stats.wilson_lower = wilson_lower_bound(stats.approved, decided)
    stats.median_decision_seconds = statistics.median(durations) if durations else None


def _locked_stats(skill_id: int, version_id: int | None) -> SkillStats:
    stats, _created = SkillStats.objects.get_or_create(skill_id=skill_id, version_id=version_id)
    # Row lock on PostgreSQL; SQLite's IMMEDIATE transaction already serialises writers.
    return SkillStats.objects.select_for_update().get(pk=stats.pk)


def skill_stats_record(
    *,
    skill_version_id: int,
    verdict: str,
    reason: str = "",
    watts: float = 0.0,
    decision_seconds: float = 0.0,
    also_version_ids: Iterable[int] = (),
) -> None:
    """Count one decision for the skill and its version, and for every skill composed into the
    same patch (`also_version_ids`); call inside the decision's transaction."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    with transaction.atomic():
        for version, share in credited_versions(skill_version_id, also_version_ids, watts):
            _record_one(
                version,
                verdict=verdict,
                reason=reason,
                watts=share,
                decision_seconds=decision_seconds,
            )


def _record_one(
    skill_version_id: int, *, verdict: str, reason: str, watts: float, decision_seconds: float
) -> None:
    skill_id = SkillVersion.objects.values_list("skill_id", flat=True).get(pk=skill_version_id)
    skill_row = None
    for version_id in (None, skill_version_id):
        stats = _locked_stats(skill_id, version_id)
        _accumulate(
            stats,
            verdict=verdict,
            reason=reason,
            watts=watts,
            decision_seconds=decision_seconds,
        )
        stats.save()
        if version_id is None:
            skill_row = stats
    assert skill_row is not None
    Skill.objects.filter(pk=skill_id).update(needs_attention=needs_attention(skill_row))


def skill_stats_rebuild(decisions: Iterable[DecisionRecord]) -> int:
    """Recompute every SkillStats row from the decisions, in the order given; returns rows."""
    records = list(decisions)
    version_ids = {
        version
        for record in records
        for version in (record.skill_version_id, *record.also_version_ids)
    }
    skill_of = dict(SkillVersion.objects.filter(pk__in=version_ids).values_list("id", "skill_id"))
    rows: dict[tuple[int, int | None], SkillStats] = {}
    for record in records:
        credited = credited_versions(record.skill_version_id, record.also_version_ids, record.watts)
        for skill_version_id, share in credited:
            skill_id = skill_of.get(skill_version_id)
            if skill_id is None:
                continue  # the version was deleted with its skill
            for version_id in (None, skill_version_id):
                key = (skill_id, version_id)
                if key not in rows:
                    rows[key] = SkillStats(skill_id=skill_id, version_id=version_id)
                _accumulate(
                    rows[key],
                    verdict=record.verdict,
                    reason=record.reason,
                    watts=share,
                    decision_seconds=record.decision_seconds,
                )
    with transaction.atomic():
        SkillStats.objects.all().delete()
        SkillStats.objects.bulk_create(rows.values())
        flagged = [
            skill_id
            for (skill_id, version_id), stats in rows.items()
            if version_id is None and needs_attention(stats)
        ]
        Skill.objects.exclude(pk__in=flagged).update(needs_attention=False)
        Skill.objects.filter(pk__in=flagged).update(needs_attention=True)
    return len(rows)


def skill_stats_rebuild_all(
    read_decisions: Callable[[], list[DecisionRecord]],
) -> tuple[int, int]:
    """Rebuild from every recorded decision; (decisions read, stats rows written).

    On PostgreSQL the stats table is locked first, so a decision being recorded meanwhile either
    commits before the read (and is counted) or waits for the rebuild (and then counts itself).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                table = connection.ops.quote_name(SkillStats._meta.db_table)
                cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")  # noqa: S608 constant
        records = read_decisions()
        rows = skill_stats_rebuild(records)
    return len(records), rows
