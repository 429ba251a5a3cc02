"""The audit log."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import models

# The first row's previous hash: 64 zeros.
CHAIN_START = "0" * 64


class AuditEvent(models.Model):
    """Append-only: every status change and decision leaves a row."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    verb = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=60)
    old_state = models.CharField(max_length=40, blank=True)
    new_state = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The hash chain (reviews.services.audit.audit_chain_seal): the row's place in the chain,
    # the previous row's hash and sha256(previous hash + this row's canonical content). Null and
    # blank until the row is sealed, just after its transaction commits.
    chain_seq = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    row_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label or 'system'} {self.verb} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")


def _canonical(value: Any) -> Any:
    # PostgreSQL's jsonb prints an integral float (1e16) as an integer: hash them alike.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def audit_row_digest(row: Any, *, prev_hash: str, chain_seq: int) -> str:
    """sha256 over the previous row's hash and this row's content, as stored.

    `row` is an AuditEvent (or the migration's historical one). The actor is its label, not the
    user id: deleting a user sets actor to NULL, which must not break the chain.
    """
    content = {
        "seq": chain_seq,
        "actor": row.actor_label,
        "verb": row.verb,
        "target": [row.target_type, row.target_id],
        "states": [row.old_state, row.new_state],
        "data": _canonical(row.data),
        "at": row.created_at.astimezone(UTC).isoformat(),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()
