"""Who a finding is routed to: one service for every way of setting it, with its audit row."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from reviews.models import Finding
from reviews.roles import access_act
from reviews.services.audit import audit_record


def _username(user: Any | None) -> str:
    return user.get_username() if user is not None else ""


def finding_assign(*, finding: Finding, assignee: Any | None, actor: Any | None, via: str) -> bool:
    """Route `finding` to `assignee` (None: nobody); False when it already was theirs.

    The actor must be able to act (managers only read). The old assignee is read under the
    row's lock, so the audit row names who it really was, even after a concurrent change.
    """
    access_act(actor)
    with transaction.atomic():
        locked = Finding.objects.select_for_update().get(pk=finding.pk)
        previous = locked.assignee
        if (previous.pk if previous else None) == (assignee.pk if assignee else None):
            return False
        locked.assignee = assignee
        locked.save(update_fields=["assignee", "updated_at"])
        audit_record(
            actor=actor,
            verb="finding.assign",
            target=locked,
            old_state=_username(previous),
            new_state=_username(assignee),
            data={"via": via},
        )
    finding.assignee = assignee
    return True
