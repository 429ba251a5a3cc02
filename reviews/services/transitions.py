"""One function moves each status: a table of allowed moves, a conditional update, an audit row."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from reviews.models import Finding, Proposal, PullRequest, ReviewThread, SolveRun
from reviews.services.audit import audit_record

F = Finding.Status
FINDING_TRANSITIONS: dict[str, set[str]] = {
    F.NEW: {F.SOLVING, F.CLOSED},
    # FIXED / REJECTED / CLOSED: a re-solve of a decided finding that made no new revision
    # hands it back to the decision that stands (reviews.services.proposals).
    F.SOLVING: {F.IN_REVIEW, F.NO_FIX, F.FAILED, F.FIXED, F.REJECTED, F.CLOSED},
    F.IN_REVIEW: {F.FIXED, F.REJECTED, F.SOLVING, F.CLOSED},
    # A re-solve that failed or found nothing leaves the pending revision standing: deciding
    # on it moves the finding (reviews.services.decisions).
    F.NO_FIX: {F.SOLVING, F.CLOSED, F.FIXED, F.REJECTED},
    F.FAILED: {F.SOLVING, F.CLOSED, F.FIXED, F.REJECTED},
    F.FIXED: {F.CLOSED, F.SOLVING},
    F.REJECTED: {F.SOLVING, F.CLOSED},
    # FIXED: the pull request of an approved fix that was closed unmerged (which closed the
    # finding) was reopened or merged after all.
    F.CLOSED: {F.SOLVING, F.FIXED},
}

P = Proposal.Status
PROPOSAL_TRANSITIONS: dict[str, set[str]] = {
    P.PENDING: {
        P.APPROVED,
        P.REJECTED,
        P.CHANGES_REQUESTED,
        P.SUPERSEDED,
        P.STALE,
        P.ACKNOWLEDGED,
    },
    # Decisions are facts: a newer revision never supersedes an approval, a rejection or an
    # acknowledgement (the revision just stops being current; proposals.proposal_store_revision).
    # An approved fix's pull / merge request is merged (shipped) or closed unmerged
    # (abandoned); one reopened goes back to approved, and may still be merged
    # (reviews.services.code_hosts).
    P.APPROVED: {P.STALE, P.SHIPPED, P.ABANDONED},
    P.SHIPPED: set(),
    P.ABANDONED: {P.APPROVED, P.SHIPPED},
    # Back in review when the re-solve could not make a validated revision; still decided on
    # while the re-solve runs (a working fix stays approvable until a validated one replaces it).
    P.CHANGES_REQUESTED: {P.SUPERSEDED, P.PENDING, P.APPROVED, P.REJECTED, P.ACKNOWLEDGED},
    P.REJECTED: set(),
    P.ACKNOWLEDGED: set(),
    P.STALE: {P.SUPERSEDED},
    P.SUPERSEDED: set(),
}

R = SolveRun.Status
SOLVE_RUN_TRANSITIONS: dict[str, set[str]] = {
    # claim; sweep (a lost broker message: re-enqueued, the status stays); cancel (a reviewer
    # decided the revision it would replace)
    R.QUEUED: {R.RUNNING, R.QUEUED, R.CANCELLED},
    # finish; retry and sweep (the worker is gone: back to the queue, its attempt counted);
    # cancel (the worker's finish then loses its claim and its candidate is dropped)
    R.RUNNING: {R.SUCCEEDED, R.NO_FIX, R.FAILED, R.QUEUED, R.CANCELLED},
    R.SUCCEEDED: set(),
    R.NO_FIX: set(),
    R.FAILED: set(),
    R.CANCELLED: set(),
}

Q = PullRequest.Status
# A fix's pull / merge request on its code host (reviews.services.code_hosts): queued until the
# host accepts it (a failed attempt stays queued with its error and next attempt time; FAILED
# once retries run out or the host refuses for good, and a person may queue it again), then
# open until merged or closed; a closed one may be reopened.
PULL_REQUEST_TRANSITIONS: dict[str, set[str]] = {
    Q.QUEUED: {Q.OPEN, Q.FAILED, Q.MERGED, Q.CLOSED},
    Q.FAILED: {Q.QUEUED},
    Q.OPEN: {Q.MERGED, Q.CLOSED},
    Q.CLOSED: {Q.OPEN, Q.MERGED},
    Q.MERGED: set(),
}

T = ReviewThread.Status
# Line-comment threads: resolved and re-opened by reviewers (reviews.services.comments).
THREAD_TRANSITIONS: dict[str, set[str]] = {T.OPEN: {T.RESOLVED}, T.RESOLVED: {T.OPEN}}


class TransitionError(Exception):
    """An illegal or lost status move; the message says which."""


def _transition(
    obj: Finding | Proposal | SolveRun | ReviewThread | PullRequest,
    table: dict[str, set[str]],
    new: str,
    *,
    actor: Any | None,
    reason: str = "",
    expected: str | None = None,
    extra_fields: dict | None = None,
    data: dict | None = None,
    guard: dict | None = None,
) -> None:
    """Move `obj` from `expected` (default: its status as read) to `new`, or raise.

    `guard` adds conditions the row must still meet (a run's attempt number, its deadline as
    read), so a caller whose view of the row is out of date loses instead of overwriting.
    """
    old = expected if expected is not None else obj.status
    if new not in table.get(old, set()):
        raise TransitionError(f"{obj._meta.verbose_name} {obj.pk} cannot move from {old} to {new}")
    fields = {"status": new, **(extra_fields or {})}
    with transaction.atomic():
        # Conditional update: works the same on SQLite (no row locks) and PostgreSQL, and
        # exactly one of two racing callers wins.
        rows = type(obj).objects.filter(pk=obj.pk, status=old, **(guard or {}))
        if rows.update(**fields) != 1:
            current = type(obj).objects.filter(pk=obj.pk).values_list("status", flat=True).first()
            changed = f"is now {current}, not {old}" if current != old else "changed meanwhile"
            raise TransitionError(
                f"{obj._meta.verbose_name} {obj.pk} {changed}: someone else changed it first"
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


def solve_run_transition(run: SolveRun, new: str, *, actor: Any | None = None, **kwargs) -> None:
    _transition(run, SOLVE_RUN_TRANSITIONS, new, actor=actor, **kwargs)


def thread_transition(
    thread: ReviewThread, new: str, *, actor: Any | None = None, **kwargs
) -> None:
    _transition(thread, THREAD_TRANSITIONS, new, actor=actor, **kwargs)


def pull_request_transition(
    pull_request: PullRequest, new: str, *, actor: Any | None = None, **kwargs
) -> None:
    _transition(pull_request, PULL_REQUEST_TRANSITIONS, new, actor=actor, **kwargs)
