"""Exact percentiles of time to proposal and time to decision, computed by the database."""

from __future__ import annotations

import math

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from reviews.models import Decision, Proposal
from reviews.reports.scope import Scope, filtered, in_range


def percentiles(
    qs: QuerySet, column: str, *, narrowed: bool, percents=(0.5, 0.9)
) -> dict[float, float | None]:
    """Exact percentiles (linear between ranks, as percentile_cont) of a numeric column.

    Unfiltered, the database walks the column's index to the two rows around each rank. When
    filters narrow the rows (a date range, a team), PostgreSQL's percentile_cont sorts just
    those rows in one query; SQLite sorts them for each rank.
    """
    qs = qs.exclude(**{f"{column}__isnull": True}).order_by()
    if narrowed and connection.vendor == "postgresql":
        try:
            sql, params = qs.values(column).query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (a reviewer with no team)
            return dict.fromkeys(percents)
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


def review_times(scope: Scope) -> dict[str, float | None]:
    """p50 and p90 of finding → first proposal and proposal → decision, in seconds."""
    proposals = in_range(
        filtered(Proposal.objects.filter(revision=1), scope), scope, "finding_created_at"
    )
    decisions = in_range(
        filtered(Decision.objects.filter(dismissed=False), scope), scope, "created_at"
    )
    to_proposal = percentiles(proposals, "seconds_to_propose", narrowed=scope.narrowed)
    to_decision = percentiles(decisions, "decision_seconds", narrowed=scope.narrowed)
    return {
        "finding_to_proposal_p50_s": to_proposal[0.5],
        "finding_to_proposal_p90_s": to_proposal[0.9],
        "proposal_to_decision_p50_s": to_decision[0.5],
        "proposal_to_decision_p90_s": to_decision[0.9],
    }
