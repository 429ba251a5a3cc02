"""Findings an API caller may read: everything for a reader role, its own sources' for ingest."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from reviews.models import Finding, Source
from reviews.roles import user_roles


def findings_for_api(user: Any) -> QuerySet[Finding]:
    """A detector's token reads back only the findings of the sources it is bound to."""
    queryset = Finding.objects.select_related("service", "repository", "assignee")
    if user_roles(user).can_read:
        return queryset
    own = Source.objects.filter(accounts=user).values("name")
    return queryset.filter(source__in=own)
