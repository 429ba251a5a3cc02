"""Savings and skill-quality reports. Every sum, count and percentile runs in the database.

A proposal's savings count as **banked** once approved, **at stake** while in review (or stale,
waiting for a re-solve) and **lost** when rejected (DESIGN.md). Only a finding's current proposal
counts, so revisions are never double-counted. A proposal is dated by its decision, or by its
creation while it waits; the funnel follows findings by the week they were ingested.

Whole weeks are read from the rollups that database triggers keep exact (reviews/rollups.py);
the days of a date range that cut a week in two are read from the base tables with the same
grouping. Either way each figure is exact, and a report costs a few grouped queries over
thousands of rows, not millions (bench/reports.py).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from reviews.models import (
    Decision,
    DecisionWeek,
    Finding,
    FunnelWeek,
    Proposal,
    SavingsWeek,
    Service,
    SolveRun,
)
from reviews.roles import user_roles

HOURS_PER_YEAR_KWH = 8.76  # kWh per watt-year
P = Proposal.Status
BUCKETS = {
    "banked": [P.APPROVED],
    "at_stake": [P.PENDING, P.STALE],
    "lost": [P.REJECTED],
}
BREAKDOWNS = ("service", "team", "skill", "source", "kind")
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


# --- Scope: filters resolved once ------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end); None is unbounded."""

    start: dt.datetime | None
    end: dt.datetime | None


@dataclass(frozen=True)
class _Scope:
    service_ids: list[int] | None  # None: every service
    source: str
    kind: str
    skill: str
    start: dt.datetime | None
    end: dt.datetime | None
    weeks: tuple[dt.date | None, dt.date | None] | None  # whole weeks [first, end), or none
    edges: tuple[Period, ...]  # the partial weeks at either end of the range


def _split_weeks(start: dt.datetime | None, end: dt.datetime | None) -> tuple:
    """Split [start, end) into whole Monday weeks (rollups) and partial edges (base tables)."""

    def monday(moment: dt.datetime) -> dt.datetime:
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - dt.timedelta(days=midnight.weekday())

    first = None
    if start is not None:
        first = start if start == monday(start) else monday(start) + dt.timedelta(days=7)
    last = None if end is None else monday(end)
    if first is not None and last is not None and first >= last:
        return None, (Period(start, end),)
    edges = []
    if start is not None and first > start:
        edges.append(Period(start, first))
    if end is not None and last < end:
        edges.append(Period(last, end))
    weeks = (first.date() if first else None, last.date() if last else None)
    return weeks, tuple(edges)


def _resolve_scope(filters: ReportFilters, teams: list[str] | None) -> _Scope:
    service_ids = None
    if filters.service or filters.team or teams is not None:
        services = Service.objects.all()
        if filters.service:
            services = services.filter(name=filters.service)
        if filters.team:
            services = services.filter(team=filters.team)
        if teams is not None:
            services = services.filter(team__in=teams)
        service_ids = list(services.values_list("id", flat=True))
    utc = dt.UTC
    start = dt.datetime.combine(filters.start, dt.time.min, tzinfo=utc) if filters.start else None
    end = (
        dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=utc)
        if filters.end
        else None
    )
    weeks, edges = _split_weeks(start, end)
    return _Scope(
        service_ids, filters.source, filters.kind, filters.skill, start, end, weeks, edges
    )


def _filtered(qs: QuerySet, scope: _Scope, *, skill: bool = True) -> QuerySet:
    if scope.service_ids is not None:
        qs = qs.filter(service_id__in=scope.service_ids)
    if scope.source:
        qs = qs.filter(source=scope.source)
    if scope.kind:
        qs = qs.filter(kind=scope.kind)
    if scope.skill and skill:
        qs = qs.filter(skill_slug=scope.skill)
    return qs


def _rollup(qs: QuerySet, scope: _Scope, *, skill: bool = True) -> QuerySet | None:
    """The rollup rows of the scope's whole weeks; None when the range has none."""
    if scope.weeks is None:
        return None
    first, end = scope.weeks
    qs = _filtered(qs, scope, skill=skill)
    if first:
        qs = qs.filter(week__gte=first)
    if end:
        qs = qs.filter(week__lt=end)
    return qs


def _edges(qs: QuerySet, scope: _Scope, date_field: str, *, skill: bool = True):
    """Base-table rows of each partial week at the range's ends."""
    for period in scope.edges:
        part = _filtered(qs, scope, skill=skill)
        if period.start:
            part = part.filter(**{f"{date_field}__gte": period.start})
        if period.end:
            part = part.filter(**{f"{date_field}__lt": period.end})
        yield part


# --- Results ---------------------------------------------------------------------------------


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
    generated_at: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["filters"] = self.filters.as_query()
        return data


def savings_report(*, user, filters: ReportFilters) -> SavingsReport:
    teams = visible_teams(user)
    scope = _resolve_scope(filters, teams)
    services = {s.pk: s for s in Service.objects.only("id", "name", "team", "price_per_kwh")}
    report = SavingsReport(
        filters=filters,
        banked=Totals(),
        at_stake=Totals(),
        lost=Totals(),
        restricted_to_teams=teams,
        generated_at=timezone.now().isoformat(timespec="seconds"),
    )
    _fill_savings(report, scope, services)
    _fill_weekly(report, scope, services)
    report.funnel = _funnel(scope)
    report.no_fix_reasons = _no_fix_reasons(scope)
    report.times = _times(scope)
    report.skills, report.rejection_reasons, report.needs_attention = _skill_quality(scope)
    return report


_KEYS = ("service_id", "skill_slug", "source", "kind", "status")


def _savings_rows(scope: _Scope) -> Iterable[dict]:
    """(service, skill, source, kind, status) groups with count, watts and measured watts."""
    rollup = _rollup(SavingsWeek.objects.all(), scope)
    if rollup is not None:
        yield from (
            rollup.values(*_KEYS)
            .annotate(
                n=Sum("proposals"),
                watts=Sum("watts"),
                measured=Sum("measured_watts"),
                measured_n=Sum("measured_count"),
            )
            .order_by()
        )
    for part in _edges(Proposal.objects.filter(is_current=True), scope, "activity_at"):
        yield from (
            part.values(*_KEYS)
            .annotate(
                n=Count("id"),
                watts=Coalesce(Sum("estimated_watts"), 0.0),
                measured=Coalesce(Sum("measured_watts"), 0.0),
                measured_n=Count("measured_watts"),
            )
            .order_by()
        )


def _fill_savings(report: SavingsReport, scope: _Scope, services: dict) -> None:
    groups: dict[str, dict[str, dict[str, Totals]]] = {name: {} for name in BREAKDOWNS}
    for row in _savings_rows(scope):
        bucket = _bucket_of(row["status"])
        if bucket is None or not row["n"]:
            continue
        service = services.get(row["service_id"])
        price = service.price_per_kwh if service else 0.0
        measured = row["measured"] if row["measured_n"] else None
        values = (row["watts"], row["watts"] * HOURS_PER_YEAR_KWH * price, measured, row["n"])
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


def _fill_weekly(report: SavingsReport, scope: _Scope, services: dict) -> None:
    rows: list[dict] = []
    rollup = _rollup(SavingsWeek.objects.all(), scope)
    if rollup is not None:
        rows += list(
            rollup.values("week", "status", "service_id")
            .annotate(watts=Sum("watts"), n=Sum("proposals"))
            .order_by()
        )
    for part in _edges(Proposal.objects.filter(is_current=True), scope, "activity_at"):
        rows += [
            {**row, "week": row["week"].date()}
            for row in part.annotate(week=TruncWeek("activity_at", tzinfo=dt.UTC))
            .values("week", "status", "service_id")
            .annotate(watts=Coalesce(Sum("estimated_watts"), 0.0), n=Count("id"))
            .order_by()
        ]
    weekly: dict[str, dict] = {}
    for row in rows:
        bucket = _bucket_of(row["status"])
        if bucket is None or not row["n"]:
            continue
        key = row["week"].isoformat()
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


def _funnel(scope: _Scope) -> dict[str, int]:
    """Findings ingested in the range, and what became of them: proposed, approved, applied.

    With a skill filter the funnel follows the findings that skill proposed for.
    """
    names = ("ingested", "no_fix", "failed", "proposed", "approved", "applied")
    funnel = dict.fromkeys(names, 0)
    rollup = _rollup(FunnelWeek.objects.all(), scope)
    if rollup is not None:
        sums = rollup.aggregate(**{name: Coalesce(Sum(name), 0) for name in names})
        for name in names:
            funnel[name] += sums[name]
    for part in _edges(Finding.objects.all(), scope, "created_at", skill=False):
        if scope.skill:
            break
        counts = part.aggregate(
            ingested=Count("id"),
            no_fix=Count("id", filter=Q(status=Finding.Status.NO_FIX)),
            failed=Count("id", filter=Q(status=Finding.Status.FAILED)),
        )
        for name, value in counts.items():
            funnel[name] += value
    for part in _edges(Proposal.objects.all(), scope, "finding_created_at"):
        counts = part.aggregate(
            proposed=Count("id", filter=Q(revision=1, is_analysis=False)),
            approved=Count("id", filter=Q(is_current=True, status=P.APPROVED, is_analysis=False)),
            applied=Count("id", filter=Q(is_current=True) & ~Q(branch_commit="")),
        )
        for name, value in counts.items():
            funnel[name] += value
    if scope.skill:
        funnel["ingested"] = funnel["proposed"]
    return funnel


def _in_range(qs: QuerySet, scope: _Scope, date_field: str) -> QuerySet:
    if scope.start:
        qs = qs.filter(**{f"{date_field}__gte": scope.start})
    if scope.end:
        qs = qs.filter(**{f"{date_field}__lt": scope.end})
    return qs


def _no_fix_reasons(scope: _Scope) -> list[dict]:
    runs = SolveRun.objects.filter(status__in=[SolveRun.Status.NO_FIX, SolveRun.Status.FAILED])
    runs = _in_range(runs, scope, "queued_at")
    if scope.service_ids is not None:
        runs = runs.filter(finding__service_id__in=scope.service_ids)
    if scope.source:
        runs = runs.filter(finding__source=scope.source)
    if scope.kind:
        runs = runs.filter(finding__kind=scope.kind)
    rows = (
        runs.values("status", "error")
        .annotate(count=Count("id"))
        .order_by("-count", "status", "error")[:10]
    )
    return [
        {
            "status": r["status"],
            "reason": (r["error"] or "no reason recorded").splitlines()[0][:300],
            "count": r["count"],
        }
        for r in rows
    ]


def _percentiles(
    qs: QuerySet, column: str, *, narrowed: bool, percents=(0.5, 0.9)
) -> dict[float, float | None]:
    """Exact percentiles (linear between ranks, as percentile_cont) of a numeric column.

    Unfiltered, the database walks the column's index to the two rows around each rank. When
    filters narrow the rows (a date range, a team), PostgreSQL's percentile_cont sorts just
    those rows in one query; SQLite sorts them for each rank.
    """
    qs = qs.exclude(**{f"{column}__isnull": True}).order_by()
    if narrowed and connection.vendor == "postgresql":
        sql, params = qs.values(column).query.sql_with_params()
        cols = ", ".join(
            f"percentile_cont({p}) WITHIN GROUP (ORDER BY t.{column})" for p in percents
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {cols} FROM ({sql}) t", params)  # noqa: S608
            row = cursor.fetchone()
        return {p: (None if v is None else float(v)) for p, v in zip(percents, row, strict=True)}
    count = qs.count()
    result: dict[float, float | None] = {}
    ordered = qs.order_by(column).values_list(column, flat=True)
    for p in percents:
        if count == 0:
            result[p] = None
            continue
        position = p * (count - 1)
        low = math.floor(position)
        values = list(ordered[low : low + 2]) if position > low else list(ordered[low : low + 1])
        result[p] = values[0] + (values[-1] - values[0]) * (position - low)
    return result


def _times(scope: _Scope) -> dict[str, float | None]:
    proposals = _in_range(
        _filtered(Proposal.objects.filter(revision=1), scope), scope, "finding_created_at"
    )
    decisions = _in_range(
        _filtered(Decision.objects.filter(dismissed=False), scope), scope, "created_at"
    )
    narrowed = bool(
        scope.start
        or scope.end
        or scope.service_ids is not None
        or scope.source
        or scope.kind
        or scope.skill
    )
    to_proposal = _percentiles(proposals, "seconds_to_propose", narrowed=narrowed)
    to_decision = _percentiles(decisions, "decision_seconds", narrowed=narrowed)
    return {
        "finding_to_proposal_p50_s": to_proposal[0.5],
        "finding_to_proposal_p90_s": to_proposal[0.9],
        "proposal_to_decision_p50_s": to_decision[0.5],
        "proposal_to_decision_p90_s": to_decision[0.9],
    }


def _skill_quality(scope: _Scope) -> tuple[list[SkillQuality], list[dict], list[str]]:
    """Acceptance per skill and per version, and the rejection reasons."""
    from skills.models import Skill

    attention = set(Skill.objects.filter(needs_attention=True).values_list("slug", flat=True))
    keys = ("skill_slug", "skill_version_number", "verdict", "reason")
    rows: list[dict] = []
    rollup = _rollup(DecisionWeek.objects.all(), scope)
    if rollup is not None:
        rows += list(rollup.values(*keys).annotate(n=Sum("decisions")).order_by())
    for part in _edges(Decision.objects.filter(dismissed=False), scope, "created_at"):
        rows += [
            {**row, "skill_version_number": row["skill_version_number"] or 0}
            for row in part.values(*keys).annotate(n=Count("id")).order_by()
        ]
    counts: dict[tuple[str, int | None], dict[str, int]] = {}
    reasons: dict[str, int] = {}
    for row in rows:
        if not row["skill_slug"] or not row["n"]:
            continue
        keys_for_row = [(row["skill_slug"], None)]
        if row["skill_version_number"]:
            keys_for_row.append((row["skill_slug"], row["skill_version_number"]))
        for key in keys_for_row:
            entry = counts.setdefault(key, {"approve": 0, "reject": 0, "request_changes": 0})
            entry[row["verdict"]] = entry.get(row["verdict"], 0) + row["n"]
        if row["verdict"] == Decision.Verdict.REJECT:
            reason = row["reason"] or "other"
            reasons[reason] = reasons.get(reason, 0) + row["n"]
    skills: list[SkillQuality] = []
    for (slug, version), entry in sorted(counts.items(), key=lambda i: (i[0][0], i[0][1] or 0)):
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
    "ReportFilters",
    "SavingsReport",
    "filter_choices",
    "savings_report",
    "wilson_interval",
]
