"""The audit log: every action writes a row (after zulip's actions)."""

from __future__ import annotations

from typing import Any

from django.db import models

from reviews.models import AuditEvent


def audit_record(
    *,
    actor: Any | None,
    verb: str,
    target: models.Model,
    old_state: str = "",
    new_state: str = "",
    data: dict | None = None,
) -> AuditEvent:
    label = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        label = actor.get_username()
    return AuditEvent.objects.create(
        actor=actor if label else None,
        actor_label=label or "system",
        verb=verb,
        target_type=target._meta.model_name,
        target_id=str(target.pk),
        old_state=old_state,
        new_state=new_state,
        data=data or {},
    )
