"""Reads for the review gate: the "My reviews" queue."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from reviews.models import Proposal
from reviews.roles import user_roles

TABS = ("mine", "all")


def pending_reviews(*, user, tab: str = "mine") -> QuerySet[Proposal]:
    """Current proposals waiting for a decision; "mine" = findings assigned to the user.

    Ingest assigns a regression to its root-cause author, so that engineer is the routed reviewer.
    """
    if not user_roles(user).can_read:
        raise PermissionDenied("Your account has no Wattson role that allows reading proposals.")
    queryset = (
        Proposal.objects.filter(status=Proposal.Status.PENDING, is_current=True)
        .select_related(
            "finding", "finding__service", "finding__assignee", "skill_version", "requested_by"
        )
        .defer("diff", "apply_log", "test_log", "bench_log", "risks")
        .order_by("-finding__estimated_watts", "created_at", "id")
    )
    if tab == "mine":
        queryset = queryset.filter(finding__assignee=user)
    return queryset
