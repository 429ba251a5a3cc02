"""One function moves each status: a table of allowed moves, a conditional update, an audit row."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from reviews.models import Finding, Proposal
from reviews.services.audit import audit_record

F = Finding.Status
FINDING_TRANSITIONS: dict[str, set[str]] = {
    F.NEW: {F.SOLVING, F.CLOSED},
    F.SOLVING: {F.IN_REVIEW, F.NO_FIX, F.FAILED},
    F.IN_REVIEW: {F.FIXED, F.REJECTED, F.SOLVING, F.CLOSED},
    F.NO_FIX: {F.SOLVING, F.CLOSED},
    F.FAILED: {F.SOLVING, F.CLOSED},
    F.FIXED: {F.CLOSED, F.SOLVING},
    F.REJECTED: {F.SOLVING, F.CLOSED},
    F.CLOSED: {F.SOLVING},
}

P = Proposal.Status
PROPOSAL_TRANSITIONS: dict[str, set[str]] = {
    P.PENDING: {P.APPROVED, P.REJECTED, P.CHANGES_REQUESTED, P.SUPERSEDED, P.STALE},
    P.APPROVED: {P.STALE},
    P.CHANGES_REQUESTED: {P.SUPERSEDED},
    P.REJECTED: {P.SUPERSEDED},
    P.STALE: {P.SUPERSEDED},
    P.SUPERSEDED: set(),
}


class TransitionError(Exception):
    """An illegal or lost status move; the message says which."""


def _transition(
    obj: Finding | Proposal,
    table: dict[str, set[str]],
    new: str,
    *,
    actor: Any | None,
    reason: str = "",
    expected: str | None = None,
    extra_fields: dict | None = None,
    data: dict | None = None,
) -> None:
    old = expected if expected is not None else obj.status
    if new not in table.get(old, set()):
        raise TransitionError(f"{obj._meta.verbose_name} {obj.pk} cannot move from {old} to {new}")
    fields = {"status": new, **(extra_fields or {})}
    with transaction.atomic():
        # Conditional update: works the same on SQLite (no row locks) and PostgreSQL, and
        # exactly one of two racing callers wins.
        updated = type(obj).objects.filter(pk=obj.pk, status=old).update(**fields)
        if updated != 1:
            current = type(obj).objects.filter(pk=obj.pk).values_list("status", flat=True).first()
            raise TransitionError(
                f"{obj._meta.verbose_name} {obj.pk} is now {current}, not {old}: "
                "someone else changed it first"
            )
        audit_record(
            actor=actor,
            verb=f"{obj._meta.model_name}.status",
            target=obj,
            old_state=old,
            new_state=new,
            data={"reason": reason, **(data or {})} if reason or data else {},
        )
    for name, value in fields.items():
        setattr(obj, name, value)


def finding_transition(finding: Finding, new: str, *, actor: Any | None = None, **kwargs) -> None:
    _transition(finding, FINDING_TRANSITIONS, new, actor=actor, **kwargs)


def proposal_transition(
    proposal: Proposal, new: str, *, actor: Any | None = None, **kwargs
) -> None:
    _transition(proposal, PROPOSAL_TRANSITIONS, new, actor=actor, **kwargs)
