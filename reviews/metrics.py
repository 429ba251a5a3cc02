"""Prometheus metrics of the review flow: solves, decisions, ingest, and the solve queue.

Services call one function here where the event happens; console.metrics serves them at
/metrics. Counts are recorded once the transaction that made the event commits, so a rolled-back
decision or a lost claim is never counted.

Multi-process: gunicorn's workers and qcluster's processes each count their own events. With
PROMETHEUS_MULTIPROC_DIR set (`.ci/prod` sets it) prometheus-client writes every process's
values to files in that directory and the scrape sums them; the queue depth is read from the
database at scrape time, so it is the same whichever process answers.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from reviews.models import SolveRun

# Solves take seconds to minutes (validation runs tests and benchmarks twice or more).
SOLVE_BUCKETS = (1, 2.5, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600, float("inf"))

SOLVE_DURATION = Histogram(
    "wattson_solve_duration_seconds",
    "Solve attempts by backend, skill and outcome, from claim to finish.",
    ["backend", "skill", "outcome"],
    buckets=SOLVE_BUCKETS,
)
DECISIONS = Counter("wattson_decisions_total", "Decisions recorded, by kind.", ["kind"])
INGESTED = Counter(
    "wattson_ingest_findings_total",
    "Findings received through ingest: created, or already there (a resend).",
    ["outcome"],
)
INGEST_REJECTED = Counter(
    "wattson_ingest_rejections_total",
    "Ingest requests refused, by HTTP status (400 invalid, 409 conflict, 413 too large, ...).",
    ["status"],
)


def solve_finished(*, run: SolveRun, outcome: str, skill: str = "") -> None:
    """A solve attempt ended as `outcome` (succeeded, no_fix, failed)."""
    started = run.started_at or timezone.now()
    seconds = max(0.0, (timezone.now() - started).total_seconds())
    labels = {"backend": run.backend or "offline", "skill": skill or "none", "outcome": outcome}
    transaction.on_commit(lambda: SOLVE_DURATION.labels(**labels).observe(seconds))


def decision_recorded(*, kind: str) -> None:
    """A reviewer's decision (approve, reject, request_changes, ...) was written."""
    transaction.on_commit(lambda: DECISIONS.labels(kind=kind).inc())


def findings_ingested(*, created: int, existing: int) -> None:
    """One ingest call's result: how many findings were new and how many resends."""

    def count() -> None:
        if created:
            INGESTED.labels(outcome="created").inc(created)
        if existing:
            INGESTED.labels(outcome="existing").inc(existing)

    transaction.on_commit(count)


def ingest_rejected(*, status: int) -> None:
    """An ingest request answered with an error status (nothing was written)."""
    INGEST_REJECTED.labels(status=str(status)).inc()


class QueueDepthCollector:
    """Queued and running solve runs, counted by the database when Prometheus scrapes."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "wattson_solve_queue_depth",
            "Solve runs waiting or running, by status.",
            labels=["status"],
        )
        counts = {status: 0 for status in SolveRun.ACTIVE}
        rows = (
            SolveRun.objects.filter(status__in=SolveRun.ACTIVE)
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
        )
        for status, n in rows:
            counts[status] = n
        for status, n in counts.items():
            family.add_metric([str(status)], n)
        yield family
