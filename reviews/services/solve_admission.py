"""Bounded auto-solve: one solve per (function, root cause) at a time, and caps on the queue.

A detector may send the same regression three times, or a batch of a thousand findings; each
would otherwise take a solver for minutes. Auto-solve (reviews.services.solving) asks
`auto_solve_admit` before queueing a finding:
- a finding naming the same functions and root cause as another open finding is not solved
  again: it is marked a duplicate (a person can still request its fix);
- at most WATTSON_AUTO_SOLVE_MAX_PER_SOURCE solves queued or running per source and
  WATTSON_AUTO_SOLVE_MAX_QUEUED in all; a finding over a cap is marked "waiting: cap", and the
  sweeper queues it once there is room (`auto_solve_release_waiting`).
Requests made by people are not capped: they chose to spend the solver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings

from reviews.models import Finding, SolveRun
from reviews.services.audit import audit_record

logger = logging.getLogger(__name__)

W = Finding.SolveWaiting
# Findings still waiting for, or getting, a fix: a new twin of one of these is a duplicate.
OPEN = (Finding.Status.NEW, Finding.Status.SOLVING, Finding.Status.IN_REVIEW)


def _symbols(finding: Finding) -> tuple[str, ...]:
    return tuple(sorted({str(f.get("symbol", "")) for f in finding.functions or []}))


def _open_twin(finding: Finding) -> Finding | None:
    """Another open finding of the same service naming the same functions and root cause."""
    candidates = (
        Finding.objects.filter(
            service_id=finding.service_id,
            root_cause_commit=finding.root_cause_commit,
            status__in=OPEN,
        )
        .exclude(pk=finding.pk)
        .exclude(solve_waiting=W.DUPLICATE)
        .only("pk", "functions")
        .order_by("pk")
    )
    wanted = _symbols(finding)
    return next((other for other in candidates if _symbols(other) == wanted), None)


def _cap_note(finding: Finding) -> str:
    """Why the queue has no room for `finding` now, or "" when it has."""
    active = SolveRun.objects.filter(status__in=SolveRun.ACTIVE)
    total_cap = settings.WATTSON_AUTO_SOLVE_MAX_QUEUED
    if active.count() >= total_cap:
        return (
            f"waiting: cap — {total_cap} solves are queued or running "
            "(WATTSON_AUTO_SOLVE_MAX_QUEUED)"
        )
    source_cap = settings.WATTSON_AUTO_SOLVE_MAX_PER_SOURCE
    if active.filter(finding__source=finding.source).count() >= source_cap:
        return (
            f"waiting: cap — source {finding.source!r} has {source_cap} solves queued or "
            "running (WATTSON_AUTO_SOLVE_MAX_PER_SOURCE)"
        )
    return ""


def _mark(finding: Finding, waiting: str, note: str) -> None:
    if finding.solve_waiting == waiting and finding.solve_waiting_note == note:
        return
    Finding.objects.filter(pk=finding.pk).update(solve_waiting=waiting, solve_waiting_note=note)
    finding.solve_waiting, finding.solve_waiting_note = waiting, note
    if waiting:
        audit_record(actor=None, verb="finding.solve_waiting", target=finding, data={"note": note})


def auto_solve_admit(finding: Finding) -> bool:
    """May auto-solve queue `finding` now? If not, the finding says why (duplicate, or cap)."""
    twin = _open_twin(finding)
    if twin is not None:
        _mark(
            finding,
            W.DUPLICATE,
            f"not auto-solved: finding #{twin.pk} names the same functions and root cause and "
            "is still open",
        )
        return False
    note = _cap_note(finding)
    if note:
        _mark(finding, W.CAP, note)
        return False
    _mark(finding, W.NONE, "")
    return True


def auto_solve_release_waiting(*, queue: Callable[[Finding], Any], limit: int = 200) -> list[int]:
    """Queue findings waiting for a cap, oldest first, while there is room; their ids.

    Called by the sweeper with `queue` = the solver's request function. A finding that moved
    on meanwhile (a person requested its fix, or closed it) just stops waiting.
    """
    released: list[int] = []
    waiting = Finding.objects.filter(solve_waiting=W.CAP).order_by("created_at", "pk")[:limit]
    for finding in waiting.select_related("service"):
        if finding.status != Finding.Status.NEW:
            _mark(finding, W.NONE, "")
            continue
        if not auto_solve_admit(finding):
            if finding.solve_waiting == W.CAP and _cap_note_is_total(finding):
                break  # the whole queue is full: nobody behind this one fits either
            continue
        queue(finding)
        released.append(finding.pk)
    if released:
        logger.info("auto-solve: queued %d findings that waited for a cap", len(released))
    return released


def _cap_note_is_total(finding: Finding) -> bool:
    return "WATTSON_AUTO_SOLVE_MAX_QUEUED" in finding.solve_waiting_note
