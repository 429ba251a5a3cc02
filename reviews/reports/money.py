"""Watts and dollars: banked, at stake and lost, in total, by breakdown and by week.

A proposal's savings count as **banked** once approved (of which **shipped** once its pull /
merge request was merged), **at stake** while in review (or stale, waiting for a re-solve, or
while changes are requested) and **lost** when rejected or when its pull request was closed
unmerged (abandoned). One revision
per finding counts (scope.COUNTED: the current one, unless an earlier approval or rejection
stands while it waits), so revisions are never double-counted, and analyses never count; a
proposal is dated by its decision, or by its creation while it waits. Dollars come from
skills.savings at each service's price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncWeek

from reviews.models import Proposal, SavingsWeek, Service
from reviews.reports.scope import (
    COUNTED,
    SAVINGS_COUNTED,
    Scope,
    edges,
    filtered,
    in_range,
    rollup,
)
from skills.savings import dollars_per_year

P = Proposal.Status
BUCKETS = {
    "banked": [P.APPROVED, P.SHIPPED],
    "at_stake": [P.PENDING, P.STALE, P.CHANGES_REQUESTED],
    "lost": [P.REJECTED, P.ABANDONED],
}
BREAKDOWNS = ("service", "team", "skill", "source", "kind")
_KEYS = ("service_id", "skill_slug", "source", "kind", "status")


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
class Savings:
    """The totals per bucket and the same split by each breakdown key."""

    banked: Totals
    at_stake: Totals
    lost: Totals
    breakdowns: dict[str, list[dict]]
    # The part of banked whose pull / merge request was merged: approved and shipped.
    shipped: Totals = field(default_factory=Totals)


def bucket_of(status: str) -> str | None:
    for bucket, statuses in BUCKETS.items():
        if status in statuses:
            return bucket
    return None


def _price(services: dict[int, Service], service_id: int) -> float:
    service = services.get(service_id)
    return service.price_per_kwh if service else 0.0


def _savings_rows(scope: Scope) -> Iterable[dict]:
    """(service, skill, source, kind, status) groups with count, watts and measured watts."""
    weeks = rollup(SavingsWeek.objects.all(), scope)
    if weeks is not None:
        yield from (
            weeks.values(*_KEYS)
            .annotate(
                n=Sum("proposals"),
                watts=Sum("watts"),
                measured=Sum("measured_watts"),
                measured_n=Sum("measured_count"),
            )
            .order_by()
        )
    for part in edges(Proposal.objects.filter(SAVINGS_COUNTED), scope, "activity_at"):
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


def _breakdown_keys(service: Service | None, row: dict) -> dict[str, str]:
    return {
        "service": service.name if service else "—",
        "team": (service.team if service else "") or "—",
        "skill": row["skill_slug"] or "—",
        "source": row["source"] or "—",
        "kind": row["kind"] or "—",
    }


def savings_totals(scope: Scope, services: dict[int, Service]) -> Savings:
    totals = {bucket: Totals() for bucket in BUCKETS}
    shipped = Totals()
    groups: dict[str, dict[str, dict[str, Totals]]] = {name: {} for name in BREAKDOWNS}
    for row in _savings_rows(scope):
        bucket = bucket_of(row["status"])
        if bucket is None or not row["n"]:
            continue
        dollars = dollars_per_year(row["watts"], _price(services, row["service_id"]))
        measured = row["measured"] if row["measured_n"] else None
        values = (row["watts"], dollars, measured, row["n"])
        totals[bucket].add(*values)
        if row["status"] == P.SHIPPED:
            shipped.add(*values)
        keys = _breakdown_keys(services.get(row["service_id"]), row)
        for name, key in keys.items():
            per_bucket = groups[name].setdefault(key, {b: Totals() for b in BUCKETS})
            per_bucket[bucket].add(*values)
    breakdowns = {
        name: sorted(
            (
                {"key": key, **{b: asdict(t) for b, t in per_bucket.items()}}
                for key, per_bucket in by_key.items()
            ),
            key=lambda r: (-r["banked"]["watts"], r["key"]),
        )
        for name, by_key in groups.items()
    }
    return Savings(totals["banked"], totals["at_stake"], totals["lost"], breakdowns, shipped)


def _weekly_rows(scope: Scope) -> list[dict]:
    rows: list[dict] = []
    weeks = rollup(SavingsWeek.objects.all(), scope)
    if weeks is not None:
        rows += list(
            weeks.values("week", "status", "service_id")
            .annotate(
                watts=Sum("watts"),
                n=Sum("proposals"),
                measured=Sum("measured_watts"),
                measured_n=Sum("measured_count"),
            )
            .order_by()
        )
    for part in edges(Proposal.objects.filter(SAVINGS_COUNTED), scope, "activity_at"):
        rows += [
            {**row, "week": row["week"].date()}
            for row in part.annotate(week=TruncWeek("activity_at", tzinfo=dt.UTC))
            .values("week", "status", "service_id")
            .annotate(
                watts=Coalesce(Sum("estimated_watts"), 0.0),
                n=Count("id"),
                measured=Coalesce(Sum("measured_watts"), 0.0),
                measured_n=Count("measured_watts"),
            )
            .order_by()
        ]
    return rows


def _empty_week(**keys: str) -> dict:
    """A week's figures per bucket: estimated watts (the bucket's name, as before), measured
    watts and how many proposals measured any, dollars a year of the estimate, proposals."""
    figures: dict = {}
    for b in BUCKETS:
        figures.update(
            {b: 0.0, f"{b}_measured": 0.0, f"{b}_measured_count": 0, f"{b}_dollars": 0.0}
        )
        figures[f"{b}_proposals"] = 0
    return {**keys, **figures}


def _add_week(week: dict, bucket: str, row: dict, price: float) -> None:
    week[bucket] += row["watts"]
    week[f"{bucket}_dollars"] += dollars_per_year(row["watts"], price)
    week[f"{bucket}_proposals"] += row["n"]
    if row["measured_n"]:
        week[f"{bucket}_measured"] += row["measured"] or 0.0
        week[f"{bucket}_measured_count"] += row["measured_n"]


def savings_weeks(scope: Scope, services: dict[int, Service]) -> tuple[list[dict], list[dict]]:
    """Per week (Monday, UTC), oldest first: the figures of every bucket, in total and per
    service (the CSV's wide form: one row per service and week)."""
    weekly: dict[str, dict] = {}
    by_service: dict[tuple[str, str], dict] = {}
    for row in _weekly_rows(scope):
        bucket = bucket_of(row["status"])
        if bucket is None or not row["n"]:
            continue
        key = row["week"].isoformat()
        service = services.get(row["service_id"])
        name = service.name if service else "—"
        price = _price(services, row["service_id"])
        _add_week(weekly.setdefault(key, _empty_week(week=key)), bucket, row, price)
        per_service = by_service.setdefault((key, name), _empty_week(week=key, service=name))
        _add_week(per_service, bucket, row, price)
    return [weekly[k] for k in sorted(weekly)], [by_service[k] for k in sorted(by_service)]


# Analyses still waiting for a person: no patch exists, so their estimate is never "at stake";
# they are the findings that need a human fix (issue #12 item 1).
HUMAN_FIX_OPEN = [P.PENDING, P.STALE, P.CHANGES_REQUESTED]


def needs_human_fix(scope: Scope, services: dict[int, Service]) -> Totals:
    """Open analyses (diagnosis-only proposals) in the scope: count and estimated watts.

    Read from the base table by activity date: analyses are few, and the rollups leave them out.
    """
    analyses = filtered(
        Proposal.objects.filter(COUNTED, is_analysis=True, status__in=HUMAN_FIX_OPEN), scope
    )
    totals = Totals()
    rows = (
        in_range(analyses, scope, "activity_at")
        .values("service_id")
        .annotate(n=Count("id"), watts=Coalesce(Sum("estimated_watts"), 0.0))
        .order_by()
    )
    for row in rows:
        price = _price(services, row["service_id"])
        totals.add(row["watts"], dollars_per_year(row["watts"], price), None, row["n"])
    return totals
