"""What became of the findings ingested in a range, and why solves found no fix."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from reviews.models import Finding, FunnelWeek, Proposal, SolveRun
from reviews.reports.scope import COUNTED, SAVINGS_COUNTED, Scope, edges, in_range, rollup

_STAGES = ("ingested", "no_fix", "failed", "proposed", "approved", "applied")
# A person approved the fix, whatever its pull request became since (reviews.rollups has the
# same rule in SQL: APPROVED_SQL).
APPROVED_STATUSES = (
    Proposal.Status.APPROVED,
    Proposal.Status.SHIPPED,
    Proposal.Status.ABANDONED,
)


def _add(funnel: dict[str, int], counts: dict[str, int]) -> None:
    for name, value in counts.items():
        funnel[name] += value


def funnel_counts(scope: Scope) -> dict[str, int]:
    """Findings ingested in the range, and what became of them: proposed, approved, applied.

    With a skill filter the funnel follows the findings that skill proposed for.
    """
    funnel = dict.fromkeys(_STAGES, 0)
    weeks = rollup(FunnelWeek.objects.all(), scope)
    if weeks is not None:
        _add(funnel, weeks.aggregate(**{name: Coalesce(Sum(name), 0) for name in _STAGES}))
    if not scope.skill:
        for part in edges(Finding.objects.all(), scope, "created_at", skill=False):
            counts = part.aggregate(
                ingested=Count("id"),
                no_fix=Count("id", filter=Q(status=Finding.Status.NO_FIX)),
                failed=Count("id", filter=Q(status=Finding.Status.FAILED)),
            )
            _add(funnel, counts)
    approved = SAVINGS_COUNTED & Q(status__in=APPROVED_STATUSES)
    for part in edges(Proposal.objects.all(), scope, "finding_created_at"):
        counts = part.aggregate(
            proposed=Count("id", filter=Q(revision=1, is_analysis=False)),
            approved=Count("id", filter=approved),
            applied=Count("id", filter=COUNTED & ~Q(branch_commit="")),
        )
        _add(funnel, counts)
    if scope.skill:
        funnel["ingested"] = funnel["proposed"]
    return funnel


def no_fix_reasons(scope: Scope) -> list[dict]:
    """The ten commonest reasons solves in the range ended without a fix."""
    runs = SolveRun.objects.filter(status__in=[SolveRun.Status.NO_FIX, SolveRun.Status.FAILED])
    runs = in_range(runs, scope, "queued_at")
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
