"""Savings and skill-quality reports. Every sum, count and percentile runs in the database.

A proposal's savings count as **banked** once approved (**shipped** once its pull request was
merged), **at stake** while in review (or stale, waiting for a re-solve) and **lost** when
rejected or its pull request was closed unmerged (README "Reports"). Only a finding's current
proposal counts, so revisions are never double-counted. A proposal is dated by its decision, or
by its creation while it waits; the funnel follows findings by the week they were ingested.

Whole weeks are read from the rollups that database triggers keep exact (reviews/rollups.py);
the days of a date range that cut a week in two are read from the base tables with the same
grouping. Either way each figure is exact, and a report costs a few grouped queries over
thousands of rows, not millions (bench/reports.py).

The parts: scope (filters → services, weeks and edges), money (watts and dollars), funnel,
timing (percentiles) and quality (skills); this module assembles them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.utils import timezone

from reviews.models import Finding, FunnelWeek, Service
from reviews.reports.funnel import funnel_counts, no_fix_reasons
from reviews.reports.money import (
    BREAKDOWNS,
    BUCKETS,
    Totals,
    needs_human_fix,
    savings_totals,
    savings_weeks,
)
from reviews.reports.quality import SkillQuality, skill_quality
from reviews.reports.scope import ReportFilters, resolve_scope, visible_teams
from reviews.reports.timing import review_times
from skills.savings import DOLLARS_FORMULA, ESTIMATED_FORMULA, MEASURED_FORMULA

# What each figure is: "watts" are estimated, "measured_watts" measured (issue #11 item 6).
FORMULAS = {
    "watts": f"estimated: {ESTIMATED_FORMULA}",
    "measured_watts": (
        f"measured: {MEASURED_FORMULA} (only proposals whose benchmark measured a recovery)"
    ),
    "dollars": f"per year, of the estimated watts: {DOLLARS_FORMULA}",
}


@dataclass
class SavingsReport:
    filters: ReportFilters
    banked: Totals
    at_stake: Totals
    lost: Totals
    # Open analyses: a diagnosis, no patch; never at stake (issue #12 item 1).
    needs_human_fix: Totals = field(default_factory=Totals)
    # The part of banked whose pull / merge request was merged on the code host.
    shipped: Totals = field(default_factory=Totals)
    weekly: list[dict] = field(default_factory=list)
    weekly_by_service: list[dict] = field(default_factory=list)
    breakdowns: dict[str, list[dict]] = field(default_factory=dict)
    funnel: dict[str, int] = field(default_factory=dict)
    no_fix_reasons: list[dict] = field(default_factory=list)
    times: dict[str, float | None] = field(default_factory=dict)
    skills: list[SkillQuality] = field(default_factory=list)
    rejection_reasons: list[dict] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)
    restricted_to_teams: list[str] | None = None
    generated_at: str = ""
    formulas: dict[str, str] = field(default_factory=lambda: dict(FORMULAS))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["filters"] = self.filters.as_query()
        return data


def savings_report(*, user, filters: ReportFilters) -> SavingsReport:
    """The whole report for what `user` may see (a reviewer: their teams' services only)."""
    teams = visible_teams(user)
    scope = resolve_scope(filters, teams)
    services = {s.pk: s for s in Service.objects.only("id", "name", "team", "price_per_kwh")}
    savings = savings_totals(scope, services)
    quality = skill_quality(scope)
    weekly, weekly_by_service = savings_weeks(scope, services)
    return SavingsReport(
        filters=filters,
        banked=savings.banked,
        at_stake=savings.at_stake,
        lost=savings.lost,
        needs_human_fix=needs_human_fix(scope, services),
        shipped=savings.shipped,
        weekly=weekly,
        weekly_by_service=weekly_by_service,
        breakdowns=savings.breakdowns,
        funnel=funnel_counts(scope),
        no_fix_reasons=no_fix_reasons(scope),
        times=review_times(scope),
        skills=quality.skills,
        rejection_reasons=quality.rejection_reasons,
        needs_attention=quality.needs_attention,
        restricted_to_teams=teams,
        generated_at=timezone.now().isoformat(timespec="seconds"),
    )


def filter_choices(user) -> dict[str, list[str]]:
    """Values offered by the filter controls, limited to what the user may see."""
    teams = visible_teams(user)
    services = Service.objects.all()
    if teams is not None:
        services = services.filter(team__in=teams)
    service_rows = list(services.values_list("id", "name", "team").order_by("name"))
    ids = [row[0] for row in service_rows]
    funnel = FunnelWeek.objects.filter(service_id__in=ids)
    return {
        "service": [row[1] for row in service_rows],
        "team": sorted({row[2] for row in service_rows if row[2]}),
        "source": list(funnel.values_list("source", flat=True).distinct().order_by("source")),
        "kind": [k for k, _ in Finding.Kind.choices],
        "skill": list(
            funnel.exclude(skill_slug="")
            .values_list("skill_slug", flat=True)
            .distinct()
            .order_by("skill_slug")
        ),
    }


__all__ = [
    "BREAKDOWNS",
    "BUCKETS",
    "FORMULAS",
    "ReportFilters",
    "SavingsReport",
    "SkillQuality",
    "Totals",
    "filter_choices",
    "savings_report",
    "visible_teams",
]
