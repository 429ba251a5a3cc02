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
    Count,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Extract, TruncWeek
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


@dataclass(frozen=True)
class _Scope:
    """The filters resolved once: service ids (None = all) and the row-level filters."""

    service_ids: list[int] | None
    source: str
    kind: str
    skill: str
    start: dt.datetime | None
    end: dt.datetime | None


def _resolve_scope(filters: ReportFilters, teams: list[str] | None) -> _Scope:
    services = None
    if filters.service or filters.team or teams is not None:
        qs = Service.objects.all()
        if filters.service:
            qs = qs.filter(name=filters.service)
        if filters.team:
            qs = qs.filter(team=filters.team)
        if teams is not None:
            qs = qs.filter(team__in=teams)
        services = list(qs.values_list("id", flat=True))
    start, end = _day_bounds(filters)
    return _Scope(services, filters.source, filters.kind, filters.skill, start, end)


def _scoped(qs: QuerySet, scope: _Scope, *, date_field: str, skill_field: str | None) -> QuerySet:
    if scope.service_ids is not None:
        qs = qs.filter(service_id__in=scope.service_ids)
    if scope.source:
        qs = qs.filter(source=scope.source)
    if scope.kind:
        qs = qs.filter(kind=scope.kind)
    if scope.skill and skill_field:
        qs = qs.filter(**{skill_field: scope.skill})
    if scope.start:
        qs = qs.filter(**{f"{date_field}__gte": scope.start})
    if scope.end:
        qs = qs.filter(**{f"{date_field}__lt": scope.end})
    return qs


def proposals_in_scope(filters: ReportFilters, teams: list[str] | None) -> QuerySet[Proposal]:
    return _scoped(
        Proposal.objects.filter(is_current=True),
        _resolve_scope(filters, teams),
        date_field="activity_at",
        skill_field="skill_slug",
    )


def _bucket_of(status: str) -> str | None:
    for bucket, statuses in BUCKETS.items():
        if status in statuses:
            return bucket
    return None


@dataclass
class Totals:
    watts: float = 0.0
    dollars: float = 0.0
    measured_watts: float | None = None
    count: int = 0

    def add(self, watts: float, dollars: float, measured: float | None, count: int) -> None:
        self.watts += watts
        self.dollars += dollars
        self.count += count
        if measured is not None:
            self.measured_watts = (self.measured_watts or 0.0) + measured


def _percentiles(qs: QuerySet, column: str, percents=(0.5, 0.9)) -> dict[float, float | None]:
    """Percentiles (percentile_cont: linear between ranks) of a numeric column, in the database.

    PostgreSQL computes them with percentile_cont; elsewhere (SQLite) the database sorts and
    we read the two ranks around each percentile.
    """
    qs = qs.exclude(**{f"{column}__isnull": True}).order_by()
    if connection.vendor == "postgresql":
        sql, params = qs.values(column).query.sql_with_params()
        cols = ", ".join(
            f"percentile_cont({p}) WITHIN GROUP (ORDER BY t.{column})" for p in percents
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {cols} FROM ({sql}) t", params)  # noqa: S608
            row = cursor.fetchone()
        return {
            p: (float(v) if v is not None else None) for p, v in zip(percents, row, strict=True)
        }
    count = qs.count()
    ordered = qs.order_by(column).values_list(column, flat=True)
    result: dict[float, float | None] = {}
    for p in percents:
        if count == 0:
            result[p] = None
            continue
        position = p * (count - 1)
        low, high = math.floor(position), math.ceil(position)
        values = list(ordered[low : high + 1])
        result[p] = values[0] + (values[-1] - values[0]) * (position - low)
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
    """The whole report in a handful of grouped queries over single tables.

    The database groups proposals by the finest small key (service, skill, source, kind,
    status): at most a few thousand rows, whatever the number of proposals. Totals and every
    breakdown fold from those rows, with dollars priced per service.
    """
    teams = visible_teams(user)
    scope = _resolve_scope(filters, teams)
    services = {s.pk: s for s in Service.objects.only("id", "name", "team", "price_per_kwh")}
    proposals = _scoped(
        Proposal.objects.filter(is_current=True),
        scope,
        date_field="activity_at",
        skill_field="skill_slug",
    )
    sums = {
        "watts": Coalesce(Sum("estimated_watts"), Value(0.0)),
        "measured": Sum("measured_watts"),
        "n": Count("id"),
    }
    report = SavingsReport(
        filters=filters,
        banked=Totals(),
        at_stake=Totals(),
        lost=Totals(),
        restricted_to_teams=teams,
    )
    groups: dict[str, dict[str, dict[str, Totals]]] = {name: {} for name in BREAKDOWNS}
    rows = proposals.values("service_id", "skill_slug", "source", "kind", "status").annotate(**sums)
    for row in rows.order_by():
        bucket = _bucket_of(row["status"])
        if bucket is None:
            continue
        service = services.get(row["service_id"])
        price = service.price_per_kwh if service else 0.0
        dollars = row["watts"] * HOURS_PER_YEAR_KWH * price
        values = (row["watts"], dollars, row["measured"], row["n"])
        getattr(report, bucket).add(*values)
        keys = {
            "service": service.name if service else "—",
            "team": (service.team if service else "") or "—",
            "skill": row["skill_slug"] or "—",
            "source": row["source"] or "—",
            "kind": row["kind"] or "—",
        }
        for name, key in keys.items():
            per_bucket = groups[name].setdefault(key, {b: Totals() for b in BUCKETS})
            per_bucket[bucket].add(*values)
    for name, by_key in groups.items():
        report.breakdowns[name] = sorted(
            (
                {"key": key, **{b: asdict(t) for b, t in per_bucket.items()}}
                for key, per_bucket in by_key.items()
            ),
            key=lambda r: (-r["banked"]["watts"], r["key"]),
        )

    weekly: dict[str, dict] = {}
    week_rows = (
        proposals.annotate(week=TruncWeek("activity_at"))
        .values("week", "status", "service_id")
        .annotate(watts=Coalesce(Sum("estimated_watts"), Value(0.0)))
        .order_by()
    )
    for row in week_rows:
        bucket = _bucket_of(row["status"])
        if bucket is None or row["week"] is None:
            continue
        key = row["week"].date().isoformat()
        week = weekly.setdefault(
            key,
            {"week": key, **{b: 0.0 for b in BUCKETS}, **{f"{b}_dollars": 0.0 for b in BUCKETS}},
        )
        service = services.get(row["service_id"])
        week[bucket] += row["watts"]
        week[f"{bucket}_dollars"] += (
            row["watts"] * HOURS_PER_YEAR_KWH * (service.price_per_kwh if service else 0.0)
        )
    report.weekly = [weekly[k] for k in sorted(weekly)]

    report.funnel = _funnel(scope)
    report.no_fix_reasons = _no_fix_reasons(scope)
    decisions = _scoped(
        Decision.objects.filter(dismissed=False),
        scope,
        date_field="created_at",
        skill_field="skill_slug",
    )
    report.times = _times(scope, decisions)
    report.skills, report.rejection_reasons, report.needs_attention = _skill_quality(decisions)
    return report


def _findings_in_scope(scope: _Scope) -> QuerySet[Finding]:
    qs = Finding.objects.all()
    if scope.service_ids is not None:
        qs = qs.filter(service_id__in=scope.service_ids)
    if scope.source:
        qs = qs.filter(source=scope.source)
    if scope.kind:
        qs = qs.filter(kind=scope.kind)
    if scope.start:
        qs = qs.filter(created_at__gte=scope.start)
    if scope.end:
        qs = qs.filter(created_at__lt=scope.end)
    return qs


def _funnel(scope: _Scope) -> dict[str, int]:
    """Findings ingested in the range → with a proposal → approved → applied (fix branch)."""
    # Every finding that ever had a proposal has a revision 1; what became of it is the
    # current revision's status.
    proposals = _scoped(
        Proposal.objects.filter(Q(is_current=True) | Q(revision=1), is_analysis=False),
        scope,
        date_field="finding_created_at",
        skill_field="skill_slug",
    ).aggregate(
        proposed=Count("id", filter=Q(revision=1)),
        approved=Count("id", filter=Q(is_current=True, status=P.APPROVED)),
        applied=Count("id", filter=Q(is_current=True) & ~Q(branch_commit="")),
    )
    findings = _findings_in_scope(scope)
    if scope.skill:
        # A skill filter narrows the funnel to findings that skill proposed for.
        findings = findings.filter(proposals__skill_slug=scope.skill, proposals__is_current=True)
    counts = findings.aggregate(
        ingested=Count("id"),
        no_fix=Count("id", filter=Q(status=Finding.Status.NO_FIX)),
        failed=Count("id", filter=Q(status=Finding.Status.FAILED)),
    )
    return {
        "ingested": counts["ingested"],
        "proposed": proposals["proposed"],
        "approved": proposals["approved"],
        "applied": proposals["applied"],
        "no_fix": counts["no_fix"],
        "failed": counts["failed"],
    }


def _no_fix_reasons(scope: _Scope) -> list[dict]:
    runs = SolveRun.objects.filter(
        status__in=[SolveRun.Status.NO_FIX, SolveRun.Status.FAILED],
        finding__in=_findings_in_scope(scope).values("id"),
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


def _times(scope: _Scope, decisions: QuerySet[Decision]) -> dict[str, float | None]:
    first_proposals = _scoped(
        Proposal.objects.filter(revision=1),
        scope,
        date_field="finding_created_at",
        skill_field="skill_slug",
    ).annotate(
        seconds_to_propose=Extract(F("created_at") - F("finding_created_at"), "epoch")
        if connection.vendor == "postgresql"
        # SQLite stores datetimes as text: julianday() difference in days.
        else (
            RawSQL(
                "(julianday(reviews_proposal.created_at) - "
                "julianday(reviews_proposal.finding_created_at)) * 86400.0",
                [],
                output_field=FloatField(),
            )
        )
    )
    to_proposal = _percentiles(first_proposals, "seconds_to_propose")
    to_decision = _percentiles(decisions, "decision_seconds")
    return {
        "finding_to_proposal_p50_s": to_proposal[0.5],
        "finding_to_proposal_p90_s": to_proposal[0.9],
        "proposal_to_decision_p50_s": to_decision[0.5],
        "proposal_to_decision_p90_s": to_decision[0.9],
    }


def _skill_quality(
    decisions: QuerySet[Decision],
) -> tuple[list[SkillQuality], list[dict], list[str]]:
    """Acceptance per skill and per version, and rejection reasons: one grouped query."""
    from skills.models import Skill

    attention = set(Skill.objects.filter(needs_attention=True).values_list("slug", flat=True))
    counts: dict[tuple[str, int | None], dict[str, int]] = {}
    reasons: dict[str, int] = {}
    rows = (
        decisions.exclude(skill_slug="")
        .values("skill_slug", "skill_version_number", "verdict", "reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        keys = [(row["skill_slug"], None)]
        if row["skill_version_number"] is not None:
            keys.append((row["skill_slug"], row["skill_version_number"]))
        for key in keys:
            entry = counts.setdefault(key, {"approve": 0, "reject": 0, "request_changes": 0})
            entry[row["verdict"]] = entry.get(row["verdict"], 0) + row["n"]
        if row["verdict"] == Decision.Verdict.REJECT:
            reasons[row["reason"] or "other"] = reasons.get(row["reason"] or "other", 0) + row["n"]
    skills: list[SkillQuality] = []
    for (slug, version), entry in sorted(
        counts.items(), key=lambda item: (item[0][0], item[0][1] or 0)
    ):
        decided = entry["approve"] + entry["reject"]
        interval = wilson_interval(entry["approve"], decided)
        skills.append(
            SkillQuality(
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
        )
    labels = dict(Decision.Reason.choices)
    rejection_reasons = [
        {"reason": reason, "label": labels.get(reason, reason), "count": n}
        for reason, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]
    return skills, rejection_reasons, sorted(attention)


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
