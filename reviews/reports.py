"""Savings and skill-quality aggregation. Every sum, count and percentile runs in the database.

A proposal's savings count as **banked** once approved, **at stake** while in review (or stale,
waiting for a re-solve) and **lost** when rejected (DESIGN.md). Only a finding's current proposal
counts, so revisions are never double-counted. A proposal is dated by its decision, or by its
creation while it waits.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from reviews.models import Decision, Finding, Proposal, Service, SolveRun
from reviews.roles import user_roles

HOURS_PER_YEAR_KWH = 8.76  # kWh per watt-year
P = Proposal.Status
BUCKETS = {
    "banked": [P.APPROVED],
    "at_stake": [P.PENDING, P.STALE],
    "lost": [P.REJECTED],
}
BREAKDOWNS = {
    "service": "finding__service__name",
    "team": "finding__service__team",
    "skill": "skill_slug",
    "source": "finding__source",
    "kind": "finding__kind",
}
TEAM_GROUP_PREFIX = "team:"


@dataclass(frozen=True)
class ReportFilters:
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive
    service: str = ""
    team: str = ""
    skill: str = ""
    source: str = ""
    kind: str = ""

    def as_query(self) -> dict[str, str]:
        return {
            k: (v.isoformat() if isinstance(v, dt.date) else v)
            for k, v in asdict(self).items()
            if v
        }


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float] | None:
    """95% Wilson score interval for a proportion; None when there were no trials."""
    if trials <= 0:
        return None
    phat = successes / trials
    denom = 1 + z * z / trials
    centre = phat + z * z / (2 * trials)
    margin = z * math.sqrt(phat * (1 - phat) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - margin) / denom), min(1.0, (centre + margin) / denom)


def visible_teams(user) -> list[str] | None:
    """None: every team. A reviewer who is not a manager or skill-admin sees their teams only.

    A user's teams are the groups named "team:<name>", matched to Service.team.
    """
    roles = user_roles(user)
    if roles.manager or roles.skill_admin:
        return None
    return [
        name[len(TEAM_GROUP_PREFIX) :]
        for name in user.groups.filter(name__startswith=TEAM_GROUP_PREFIX).values_list(
            "name", flat=True
        )
    ]


def _day_bounds(filters: ReportFilters) -> tuple[dt.datetime | None, dt.datetime | None]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(filters.start, dt.time.min, tzinfo=tz) if filters.start else None
    end = (
        dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        if filters.end
        else None
    )
    return start, end


def _finding_scope(filters: ReportFilters, teams: list[str] | None, prefix: str = "") -> Q:
    q = Q()
    if filters.service:
        q &= Q(**{f"{prefix}service__name": filters.service})
    if filters.team:
        q &= Q(**{f"{prefix}service__team": filters.team})
    if filters.source:
        q &= Q(**{f"{prefix}source": filters.source})
    if filters.kind:
        q &= Q(**{f"{prefix}kind": filters.kind})
    if teams is not None:
        q &= Q(**{f"{prefix}service__team__in": teams})
    return q


def proposals_in_scope(filters: ReportFilters, teams: list[str] | None) -> QuerySet[Proposal]:
    qs = Proposal.objects.filter(is_current=True).filter(
        _finding_scope(filters, teams, prefix="finding__")
    )
    if filters.skill:
        qs = qs.filter(skill_slug=filters.skill)
    start, end = _day_bounds(filters)
    qs = qs.annotate(activity_at=Coalesce("decided_at", "created_at"))
    if start:
        qs = qs.filter(activity_at__gte=start)
    if end:
        qs = qs.filter(activity_at__lt=end)
    return qs


def _bucket_aggregates() -> dict:
    """Watts and dollars per bucket, estimated and measured, as conditional sums."""
    price = F("finding__service__price_per_kwh")
    aggregates = {}
    for bucket, statuses in BUCKETS.items():
        when = Q(status__in=statuses)
        aggregates[f"{bucket}_watts"] = Coalesce(
            Sum(Case(When(when, then=F("estimated_watts")), output_field=FloatField())),
            Value(0.0),
        )
        aggregates[f"{bucket}_dollars"] = Coalesce(
            Sum(
                Case(
                    When(when, then=F("estimated_watts") * price * HOURS_PER_YEAR_KWH),
                    output_field=FloatField(),
                )
            ),
            Value(0.0),
        )
        aggregates[f"{bucket}_measured_watts"] = Sum(
            Case(When(when, then=F("measured_watts")), output_field=FloatField())
        )
        aggregates[f"{bucket}_count"] = Count("id", filter=when)
    return aggregates


@dataclass
class Totals:
    watts: float = 0.0
    dollars: float = 0.0
    measured_watts: float | None = None
    count: int = 0


def _totals_from_row(row: dict, bucket: str) -> Totals:
    return Totals(
        watts=float(row.get(f"{bucket}_watts") or 0.0),
        dollars=float(row.get(f"{bucket}_dollars") or 0.0),
        measured_watts=row.get(f"{bucket}_measured_watts"),
        count=int(row.get(f"{bucket}_count") or 0),
    )


def _percentiles(qs: QuerySet, expression, percents=(0.5, 0.9)) -> dict[float, float | None]:
    """Percentiles of a duration expression, in seconds, computed by the database.

    PostgreSQL has percentile_cont; elsewhere (SQLite) we sort in the database and read the
    rank we need, which is the same nearest-rank definition percentile_cont interpolates from.
    """
    annotated = qs.annotate(
        _duration=ExpressionWrapper(expression, output_field=DurationField())
    ).exclude(_duration__isnull=True)
    if connection.vendor == "postgresql":
        sql, params = annotated.values("_duration").query.sql_with_params()
        cols = ", ".join(
            f"percentile_cont({p}) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM t._duration))"
            for p in percents
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {cols} FROM ({sql}) t", params)  # noqa: S608
            row = cursor.fetchone()
        return {
            p: (float(v) if v is not None else None) for p, v in zip(percents, row, strict=True)
        }
    count = annotated.count()
    result: dict[float, float | None] = {}
    ordered = annotated.order_by("_duration").values_list("_duration", flat=True)
    for p in percents:
        if count == 0:
            result[p] = None
            continue
        # Linear interpolation between the two ranks around p, like percentile_cont.
        position = p * (count - 1)
        low, high = math.floor(position), math.ceil(position)
        values = list(ordered[low : high + 1])
        a = values[0].total_seconds()
        b = values[-1].total_seconds()
        result[p] = a + (b - a) * (position - low)
    return result


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
class SavingsReport:
    filters: ReportFilters
    banked: Totals
    at_stake: Totals
    lost: Totals
    weekly: list[dict] = field(default_factory=list)
    breakdowns: dict[str, list[dict]] = field(default_factory=dict)
    funnel: dict[str, int] = field(default_factory=dict)
    no_fix_reasons: list[dict] = field(default_factory=list)
    times: dict[str, float | None] = field(default_factory=dict)
    skills: list[SkillQuality] = field(default_factory=list)
    rejection_reasons: list[dict] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)
    restricted_to_teams: list[str] | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["filters"] = self.filters.as_query()
        return data


def savings_report(*, user, filters: ReportFilters) -> SavingsReport:
    teams = visible_teams(user)
    proposals = proposals_in_scope(filters, teams)
    aggregates = _bucket_aggregates()

    totals_row = proposals.aggregate(**aggregates)
    report = SavingsReport(
        filters=filters,
        banked=_totals_from_row(totals_row, "banked"),
        at_stake=_totals_from_row(totals_row, "at_stake"),
        lost=_totals_from_row(totals_row, "lost"),
        restricted_to_teams=teams,
    )

    weekly = (
        proposals.annotate(week=TruncWeek("activity_at"))
        .values("week")
        .annotate(**aggregates)
        .order_by("week")
    )
    report.weekly = [
        {
            "week": row["week"].date().isoformat() if row["week"] else None,
            **{b: _totals_from_row(row, b).watts for b in BUCKETS},
            **{f"{b}_dollars": _totals_from_row(row, b).dollars for b in BUCKETS},
        }
        for row in weekly
    ]

    for name, path in BREAKDOWNS.items():
        rows = proposals.values(key=F(path)).annotate(**aggregates).order_by("-banked_watts", "key")
        report.breakdowns[name] = [
            {
                "key": row["key"] or "—",
                **{b: asdict(_totals_from_row(row, b)) for b in BUCKETS},
            }
            for row in rows
        ]

    report.funnel = _funnel(filters, teams)
    report.no_fix_reasons = _no_fix_reasons(filters, teams)
    report.times = _times(filters, teams)
    report.skills, report.needs_attention = _skill_quality(filters, teams)
    report.rejection_reasons = _rejection_reasons(filters, teams)
    return report


def _findings_in_scope(filters: ReportFilters, teams: list[str] | None) -> QuerySet[Finding]:
    qs = Finding.objects.filter(_finding_scope(filters, teams))
    start, end = _day_bounds(filters)
    if start:
        qs = qs.filter(created_at__gte=start)
    if end:
        qs = qs.filter(created_at__lt=end)
    if filters.skill:
        qs = qs.filter(proposals__skill_slug=filters.skill).distinct()
    return qs


def _funnel(filters: ReportFilters, teams: list[str] | None) -> dict[str, int]:
    findings = _findings_in_scope(filters, teams)
    row = findings.aggregate(
        ingested=Count("id", distinct=True),
        proposed=Count("id", filter=Q(proposals__is_analysis=False), distinct=True),
        approved=Count("id", filter=Q(proposals__status=P.APPROVED), distinct=True),
        applied=Count("id", filter=~Q(proposals__branch_commit=""), distinct=True),
        no_fix=Count("id", filter=Q(status=Finding.Status.NO_FIX), distinct=True),
        failed=Count("id", filter=Q(status=Finding.Status.FAILED), distinct=True),
    )
    return {key: int(value or 0) for key, value in row.items()}


def _no_fix_reasons(filters: ReportFilters, teams: list[str] | None) -> list[dict]:
    runs = SolveRun.objects.filter(
        status__in=[SolveRun.Status.NO_FIX, SolveRun.Status.FAILED],
        finding__in=_findings_in_scope(filters, teams).values("id"),
    )
    rows = (
        runs.values("status", "error")
        .annotate(count=Count("id"))
        .order_by("-count", "status", "error")[:10]
    )
    return [
        {
            "status": r["status"],
            "reason": (r["error"] or "no reason recorded")[:300],
            "count": r["count"],
        }
        for r in rows
    ]


def _decisions_in_scope(filters: ReportFilters, teams: list[str] | None) -> QuerySet[Decision]:
    qs = Decision.objects.filter(dismissed=False).filter(
        _finding_scope(filters, teams, prefix="proposal__finding__")
    )
    if filters.skill:
        qs = qs.filter(proposal__skill_slug=filters.skill)
    start, end = _day_bounds(filters)
    if start:
        qs = qs.filter(created_at__gte=start)
    if end:
        qs = qs.filter(created_at__lt=end)
    return qs


def _times(filters: ReportFilters, teams: list[str] | None) -> dict[str, float | None]:
    first_proposals = Proposal.objects.filter(
        revision=1, finding__in=_findings_in_scope(filters, teams).values("id")
    )
    to_proposal = _percentiles(first_proposals, F("created_at") - F("finding__created_at"))
    decisions = _decisions_in_scope(filters, teams)
    to_decision = _percentiles(decisions, F("created_at") - F("proposal__created_at"))
    return {
        "finding_to_proposal_p50_s": to_proposal[0.5],
        "finding_to_proposal_p90_s": to_proposal[0.9],
        "proposal_to_decision_p50_s": to_decision[0.5],
        "proposal_to_decision_p90_s": to_decision[0.9],
    }


def _skill_quality(
    filters: ReportFilters, teams: list[str] | None
) -> tuple[list[SkillQuality], list[str]]:
    """Acceptance per skill and per version, from the decisions in scope."""
    from skills.models import Skill

    decisions = _decisions_in_scope(filters, teams).exclude(proposal__skill_slug="")
    counts = {
        "approved": Count("id", filter=Q(verdict=Decision.Verdict.APPROVE)),
        "rejected": Count("id", filter=Q(verdict=Decision.Verdict.REJECT)),
        "changes_requested": Count("id", filter=Q(verdict=Decision.Verdict.REQUEST_CHANGES)),
    }
    attention = set(Skill.objects.filter(needs_attention=True).values_list("slug", flat=True))
    rows: list[SkillQuality] = []
    per_skill = decisions.values(slug=F("proposal__skill_slug")).annotate(**counts).order_by("slug")
    per_version = (
        decisions.values(
            slug=F("proposal__skill_slug"), number=F("proposal__skill_version__number")
        )
        .annotate(**counts)
        .order_by("slug", "number")
    )
    versions_by_slug: dict[str, list[dict]] = {}
    for row in per_version:
        versions_by_slug.setdefault(row["slug"], []).append(row)
    for row in per_skill:
        for entry in [row, *versions_by_slug.get(row["slug"], [])]:
            decided = entry["approved"] + entry["rejected"]
            interval = wilson_interval(entry["approved"], decided)
            rows.append(
                SkillQuality(
                    skill=row["slug"],
                    version=entry.get("number"),
                    approved=entry["approved"],
                    rejected=entry["rejected"],
                    changes_requested=entry["changes_requested"],
                    acceptance_rate=(entry["approved"] / decided) if decided else None,
                    wilson_low=interval[0] if interval else None,
                    wilson_high=interval[1] if interval else None,
                    needs_attention=row["slug"] in attention,
                )
            )
    return rows, sorted(attention)


def _rejection_reasons(filters: ReportFilters, teams: list[str] | None) -> list[dict]:
    rows = (
        _decisions_in_scope(filters, teams)
        .filter(verdict=Decision.Verdict.REJECT)
        .values("reason")
        .annotate(count=Count("id"))
        .order_by("-count", "reason")
    )
    labels = dict(Decision.Reason.choices)
    return [
        {
            "reason": r["reason"] or "other",
            "label": labels.get(r["reason"], r["reason"]),
            "count": r["count"],
        }
        for r in rows
    ]


def filter_choices(user) -> dict[str, list[str]]:
    """Values offered by the filter controls, limited to what the user may see."""
    teams = visible_teams(user)
    services = Service.objects.all()
    if teams is not None:
        services = services.filter(team__in=teams)
    return {
        "service": list(services.values_list("name", flat=True).order_by("name")),
        "team": sorted({t for t in services.values_list("team", flat=True) if t}),
        "source": list(
            Finding.objects.filter(service__in=services)
            .values_list("source", flat=True)
            .distinct()
            .order_by("source")
        ),
        "kind": [k for k, _ in Finding.Kind.choices],
        "skill": list(
            Proposal.objects.exclude(skill_slug="")
            .values_list("skill_slug", flat=True)
            .distinct()
            .order_by("skill_slug")
        ),
    }
