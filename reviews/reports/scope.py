"""A report's filters, resolved once into a scope: which services, which whole weeks, which edges.

Whole Monday weeks are read from the rollups that database triggers keep exact
(reviews/rollups.py); the days of a date range that cut a week in two are read from the base
tables with the same grouping, so each figure is exact either way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from django.db.models import Q, QuerySet

from reviews.models import Service
from reviews.roles import user_roles

TEAM_GROUP_PREFIX = "team:"

# The revision the reports count for each finding (Proposal.in_reports; reviews.rollups has the
# same rule in SQL): the current one, unless an earlier revision's approval or rejection still
# stands while it waits. SAVINGS_COUNTED leaves out analyses, which never bank or lose watts.
COUNTED = Q(in_reports=True) | Q(in_reports__isnull=True, is_current=True)
SAVINGS_COUNTED = COUNTED & Q(is_analysis=False)


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


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end); None is unbounded."""

    start: dt.datetime | None
    end: dt.datetime | None


@dataclass(frozen=True)
class Scope:
    service_ids: list[int] | None  # None: every service
    source: str
    kind: str
    skill: str
    start: dt.datetime | None
    end: dt.datetime | None
    weeks: tuple[dt.date | None, dt.date | None] | None  # whole weeks [first, end), or none
    edges: tuple[Period, ...]  # the partial weeks at either end of the range

    @property
    def narrowed(self) -> bool:
        """Whether any filter or date bound limits the rows."""
        return bool(
            self.start
            or self.end
            or self.service_ids is not None
            or self.source
            or self.kind
            or self.skill
        )


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


def resolve_scope(filters: ReportFilters, teams: list[str] | None) -> Scope:
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
    return Scope(service_ids, filters.source, filters.kind, filters.skill, start, end, weeks, edges)


def filtered(qs: QuerySet, scope: Scope, *, skill: bool = True) -> QuerySet:
    if scope.service_ids is not None:
        qs = qs.filter(service_id__in=scope.service_ids)
    if scope.source:
        qs = qs.filter(source=scope.source)
    if scope.kind:
        qs = qs.filter(kind=scope.kind)
    if scope.skill and skill:
        qs = qs.filter(skill_slug=scope.skill)
    return qs


def rollup(qs: QuerySet, scope: Scope, *, skill: bool = True) -> QuerySet | None:
    """The rollup rows of the scope's whole weeks; None when the range has none."""
    if scope.weeks is None:
        return None
    first, end = scope.weeks
    qs = filtered(qs, scope, skill=skill)
    if first:
        qs = qs.filter(week__gte=first)
    if end:
        qs = qs.filter(week__lt=end)
    return qs


def edges(qs: QuerySet, scope: Scope, date_field: str, *, skill: bool = True) -> Iterator[QuerySet]:
    """Base-table rows of each partial week at the range's ends."""
    for period in scope.edges:
        part = filtered(qs, scope, skill=skill)
        if period.start:
            part = part.filter(**{f"{date_field}__gte": period.start})
        if period.end:
            part = part.filter(**{f"{date_field}__lt": period.end})
        yield part


def in_range(qs: QuerySet, scope: Scope, date_field: str) -> QuerySet:
    """Rows of the whole range by one date column (no rollup: for exact percentiles and runs)."""
    if scope.start:
        qs = qs.filter(**{f"{date_field}__gte": scope.start})
    if scope.end:
        qs = qs.filter(**{f"{date_field}__lt": scope.end})
    return qs
