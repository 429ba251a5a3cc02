"""The audit log: every action writes a row (after zulip's actions), chained by hash.

Rows are written by the action's own transaction, without waiting on anything, and sealed into
the chain (reviews.models.audit.audit_row_digest) right after that transaction commits, in a
short transaction of their own that holds the chain lock: pg_advisory_xact_lock on PostgreSQL,
the IMMEDIATE transaction's write lock on SQLite. Sealing after the commit, not inside the
action's transaction, keeps the lock away from the action's row locks and git work: held until
an outer commit, a global lock would serialise every decision behind a fix branch's git commit
and deadlock against row locks taken after it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from reviews.models import AuditEvent
from reviews.models.audit import CHAIN_START, audit_row_digest

logger = logging.getLogger(__name__)

# Any constant that other code does not use for pg_advisory_xact_lock.
CHAIN_LOCK_KEY = 0x5741_7454_534F_4E  # "WAtTSON"
SEAL_BATCH = 1000
# A row this old and still outside the chain was not written by audit_record (or its sealing
# failed and no audit write has happened since): verify_audit names it.
UNSEALED_GRACE_S = 300


def _label(actor: Any | None) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return ""


def audit_record(
    *,
    actor: Any | None,
    verb: str,
    target: models.Model,
    old_state: str = "",
    new_state: str = "",
    data: dict | None = None,
) -> AuditEvent:
    label = _label(actor)
    event = AuditEvent.objects.create(
        actor=actor if label else None,
        actor_label=label or "system",
        verb=verb,
        target_type=target._meta.model_name,
        target_id=str(target.pk),
        old_state=old_state,
        new_state=new_state,
        data=data or {},
    )
    transaction.on_commit(audit_chain_seal_quietly)
    return event


def audit_record_many(
    *, actor: Any | None, verb: str, targets: list[tuple[models.Model, str, dict]]
) -> None:
    """One row per (target, new_state, data), as audit_record writes, in one insert per 500."""
    label = _label(actor)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor if label else None,
                actor_label=label or "system",
                verb=verb,
                target_type=target._meta.model_name,
                target_id=str(target.pk),
                new_state=new_state,
                data=data,
            )
            for target, new_state, data in targets
        ],
        batch_size=500,
    )
    transaction.on_commit(audit_chain_seal_quietly)


def _chain_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # SQLite: the transaction began IMMEDIATE (settings), holding the database's write lock.


def audit_chain_seal() -> int:
    """Chain every committed row not yet in the chain, oldest id first; returns how many."""
    sealed = 0
    while True:
        with transaction.atomic():
            _chain_lock()
            head = (
                AuditEvent.objects.filter(chain_seq__isnull=False)
                .order_by("-chain_seq")
                .only("chain_seq", "row_hash")
                .first()
            )
            seq, prev_hash = (head.chain_seq, head.row_hash) if head else (0, CHAIN_START)
            pending = list(
                AuditEvent.objects.filter(chain_seq__isnull=True).order_by("id")[:SEAL_BATCH]
            )
            for row in pending:
                seq += 1
                row.chain_seq, row.prev_hash = seq, prev_hash
                row.row_hash = prev_hash = audit_row_digest(row, prev_hash=prev_hash, chain_seq=seq)
            # bulk_update, not save(): the content stays as written; only the seal is added.
            AuditEvent.objects.bulk_update(pending, ["chain_seq", "prev_hash", "row_hash"])
        sealed += len(pending)
        if len(pending) < SEAL_BATCH:
            return sealed


def audit_chain_seal_quietly() -> None:
    # Runs after the action committed: a failure here must not turn a done action into an
    # error page. The next audit write seals what this one left.
    try:
        audit_chain_seal()
    except Exception:
        logger.exception("could not seal the audit chain; the next audit write will")


@dataclass
class AuditProblem:
    event_id: int | None
    chain_seq: int | None
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.event_id, "seq": self.chain_seq, "problem": self.problem}


@dataclass
class AuditReport:
    checked: int = 0
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "problems": [problem.as_dict() for problem in self.problems],
        }


def audit_verify(*, last: int | None = None) -> AuditReport:
    """Walk the chain (or its `last` rows) and name every edited, inserted or deleted row."""
    report = AuditReport()
    rows = AuditEvent.objects.filter(chain_seq__isnull=False).order_by("chain_seq")
    if last is not None:
        head = rows.order_by("-chain_seq").values_list("chain_seq", flat=True).first() or 0
        rows = rows.filter(chain_seq__gt=max(0, head - last))
    previous: AuditEvent | None = None
    for row in rows.iterator(chunk_size=2000):
        report.checked += 1
        _check_row(row, previous, report)
        previous = row
    _check_unsealed(report)
    return report


def _check_row(row: AuditEvent, previous: AuditEvent | None, report: AuditReport) -> None:
    def problem(text: str) -> None:
        report.problems.append(AuditProblem(row.pk, row.chain_seq, text))

    if previous is None and row.chain_seq == 1 and row.prev_hash != CHAIN_START:
        problem("the first row does not start the chain (a row was inserted before it)")
    if previous is not None:
        missing = row.chain_seq - previous.chain_seq - 1
        if missing:
            problem(
                f"{missing} row(s) deleted between #{previous.chain_seq} (id {previous.pk}) "
                f"and this one"
            )
        elif row.prev_hash != previous.row_hash:
            problem(
                f"does not follow #{previous.chain_seq} (id {previous.pk}): inserted or re-chained"
            )
    if audit_row_digest(row, prev_hash=row.prev_hash, chain_seq=row.chain_seq) != row.row_hash:
        problem("edited: its content no longer matches its hash")


def _check_unsealed(report: AuditReport) -> None:
    cutoff = timezone.now() - timedelta(seconds=UNSEALED_GRACE_S)
    stray = AuditEvent.objects.filter(chain_seq__isnull=True, created_at__lt=cutoff)
    for event_id in stray.order_by("id").values_list("id", flat=True)[:100]:
        report.problems.append(
            AuditProblem(event_id, None, "not in the chain: inserted outside the audit writer")
        )
