"""Approved fixes as pull / merge requests, and their fate coming back.

The PullRequest row is the truth. Approval (after the fix branch is pushed) queues one; a
django-q2 task makes the first attempt at once and the sweeper (every minute) retries what is
due, with backoff or what the host's Retry-After / rate-limit reset says, up to
WATTSON_PR_MAX_ATTEMPTS; a permanent refusal (no token, no permission, no such project) marks it
failed with the host's reason, shown on the proposal. None of this touches the approval.

Its fate comes back by webhook (reviews.services.code_hosts.webhooks) or, should one be lost, by
the sweeper polling open requests every WATTSON_PR_POLL_S: merged → the proposal is shipped,
closed unmerged → abandoned (and its finding closed), reopened → approved again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from reviews.models import Decision, Finding, FixDelivery, Proposal, PullRequest, Repository
from reviews.roles import access_act
from reviews.services.audit import audit_record
from reviews.services.code_hosts.clients import HostError, client_for
from reviews.services.code_hosts.hosts import TOKEN_ENV, HostTarget, host_for_url, host_token
from reviews.services.code_hosts.messages import request_body, request_title
from reviews.services.transitions import (
    TransitionError,
    finding_transition,
    proposal_transition,
    pull_request_transition,
)

log = logging.getLogger(__name__)

TASK_PATH = "reviews.tasks.pull_request_open_task"
S = PullRequest.Status
P = Proposal.Status
# An attempt that claimed the row and died (a killed worker) is retried after this long.
_LEASE = dt.timedelta(minutes=10)
_MAX_BACKOFF_S = 6 * 3600


def repository_url(repository: Repository) -> str:
    """The repository's remote URL ("" for a local work tree)."""
    return getattr(repository, "url", "") or ""


def pull_request_queue(
    *, proposal: Proposal, repository: Repository, branch: str, actor: Any | None = None
) -> PullRequest | None:
    """After the fix branch is pushed: queue its pull request when the repository is on a
    known code host (None otherwise: the branch is all there is). Idempotent per proposal."""
    target = host_for_url(repository_url(repository))
    if target is None:
        return None
    pull_request, created = PullRequest.objects.get_or_create(
        proposal=proposal,
        defaults={
            "host": target.host,
            "api_url": target.api_url,
            "project": target.project,
            "branch": branch,
            "base_branch": repository.default_branch,
        },
    )
    if created:
        audit_record(
            actor=actor,
            verb="pull_request.queued",
            target=proposal,
            new_state=S.QUEUED,
            data={"pull_request": pull_request.pk, "host": target.host, "branch": branch},
        )
        transaction.on_commit(lambda: pull_request_enqueue(pull_request_id=pull_request.pk))
    return pull_request


def pull_request_after_push(delivery: FixDelivery) -> None:
    """reviews.services.fix_delivery.POST_PUSH_HOOKS: the fix branch is on the remote now."""
    if delivery.repository is None:
        return
    proposal = Proposal.objects.get(decisions=delivery.decision_id)
    pull_request_queue(proposal=proposal, repository=delivery.repository, branch=delivery.branch)


def pull_request_enqueue(*, pull_request_id: int) -> None:
    """Hand the first attempt to a worker; a lost message is the sweeper's to retry."""
    try:
        async_task(TASK_PATH, pull_request_id, task_name=f"pull-request-{pull_request_id}")
    except Exception:
        log.exception("could not enqueue pull request %s; the sweeper will retry", pull_request_id)


def _claim(pull_request_id: int) -> PullRequest | None:
    """Take the attempt: exactly one of two racing workers wins, and a crashed attempt's row
    comes due again once its lease passes."""
    now = timezone.now()
    claimed = (
        PullRequest.objects.filter(pk=pull_request_id, status=S.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(attempts=F("attempts") + 1, next_attempt_at=now + _LEASE)
    )
    if claimed != 1:
        return None
    return PullRequest.objects.select_related(
        "proposal__finding__service", "proposal__finding"
    ).get(pk=pull_request_id)


def _approver(proposal: Proposal) -> str:
    decision = (
        Decision.objects.filter(proposal=proposal, verdict=Decision.Verdict.APPROVE)
        .select_related("reviewer")
        .order_by("-created_at")
        .first()
    )
    return decision.reviewer.get_username() if decision else ""


def _backoff_seconds(attempts: int, retry_after: float | None) -> float:
    if retry_after:
        return min(max(retry_after, 1.0), _MAX_BACKOFF_S)
    return min(60.0 * 2 ** max(attempts - 1, 0), _MAX_BACKOFF_S)


def _target(pull_request: PullRequest) -> HostTarget:
    return HostTarget(pull_request.host, pull_request.api_url, pull_request.project)


def _client(pull_request: PullRequest):
    token = host_token(pull_request.host)
    if not token:
        raise HostError(
            f"{TOKEN_ENV[pull_request.host]} is not set in the workers' environment: set it "
            f"and retry to open the {pull_request.noun}",
            retry_after=None,
        )
    return client_for(_target(pull_request), token=token, timeout=settings.WATTSON_PR_TIMEOUT_S)


def _open(pull_request: PullRequest) -> None:
    proposal = pull_request.proposal
    finding = proposal.finding
    client = _client(pull_request)
    reviewer = client.find_user(
        email=finding.root_cause_author, commit_sha=finding.root_cause_commit
    )
    opened = client.open_request(
        branch=pull_request.branch,
        base=pull_request.base_branch,
        title=request_title(proposal),
        body=request_body(
            proposal, reviewer=reviewer, host_noun=pull_request.noun, approver=_approver(proposal)
        ),
        reviewer=reviewer,
    )
    note = opened.review_note or ("" if reviewer else "no host user matched the author")
    pull_request_transition(
        pull_request,
        S.OPEN,
        reason=f"{pull_request.noun} {'found open' if opened.existed else 'opened'}",
        expected=S.QUEUED,
        extra_fields={
            "number": opened.number,
            "url": opened.url,
            "reviewer_login": reviewer if not opened.review_note else "",
            "reviewer_note": note[:500],
            "last_error": "",
            "next_attempt_at": None,
            "last_checked_at": timezone.now(),
        },
        data={"number": opened.number, "url": opened.url, "existed": opened.existed},
    )


def _record_failure(pull_request: PullRequest, error: HostError) -> None:
    """Keep the error; come back later, or give up (permanent, or out of attempts)."""
    give_up = error.retry_after is None or pull_request.attempts >= settings.WATTSON_PR_MAX_ATTEMPTS
    if give_up:
        with transaction.atomic():
            pull_request_transition(
                pull_request,
                S.FAILED,
                reason=error.message,
                expected=S.QUEUED,
                extra_fields={"last_error": error.message, "next_attempt_at": None},
                data={"attempts": pull_request.attempts, "status_code": error.status},
            )
        return
    delay = _backoff_seconds(pull_request.attempts, error.retry_after)
    next_at = timezone.now() + dt.timedelta(seconds=delay)
    with transaction.atomic():
        PullRequest.objects.filter(pk=pull_request.pk, status=S.QUEUED).update(
            last_error=error.message, next_attempt_at=next_at
        )
        audit_record(
            actor=None,
            verb="pull_request.attempt_failed",
            target=pull_request.proposal,
            old_state=S.QUEUED,
            new_state=S.QUEUED,
            data={
                "pull_request": pull_request.pk,
                "attempt": pull_request.attempts,
                "error": error.message,
                "status_code": error.status,
                "retry_in_s": round(delay, 1),
            },
        )
    pull_request.last_error, pull_request.next_attempt_at = error.message, next_at


def pull_request_attempt(*, pull_request_id: int) -> PullRequest | None:
    """One attempt at opening a queued pull request; None when it is not due or not queued."""
    pull_request = _claim(pull_request_id)
    if pull_request is None:
        return None
    try:
        _open(pull_request)
    except HostError as exc:
        log.warning("pull request %s: %s", pull_request.pk, exc.message)
        _record_failure(pull_request, exc)
    except TransitionError:
        log.info("pull request %s changed while it was opened", pull_request.pk)
    return pull_request


def pull_request_retry(*, pull_request: PullRequest, actor: Any) -> None:
    """A person asks again after a failure (the token was set, a permission granted)."""
    access_act(actor)
    pull_request_transition(
        pull_request,
        S.QUEUED,
        actor=actor,
        reason="retry requested",
        expected=S.FAILED,
        extra_fields={"attempts": 0, "next_attempt_at": None},
    )
    transaction.on_commit(lambda: pull_request_enqueue(pull_request_id=pull_request.pk))


# --- the fate ------------------------------------------------------------------------------------

# Host state → (pull request status, proposal status it moves to from the ones listed).
_FATE = {
    "merged": (S.MERGED, P.SHIPPED, (P.APPROVED, P.ABANDONED)),
    "closed": (S.CLOSED, P.ABANDONED, (P.APPROVED,)),
    "open": (S.OPEN, P.APPROVED, (P.ABANDONED,)),
}
# What the finding becomes with each proposal status, from the ones listed.
_FINDING_FATE = {
    P.SHIPPED: (Finding.Status.FIXED, (Finding.Status.CLOSED,)),
    P.ABANDONED: (Finding.Status.CLOSED, (Finding.Status.FIXED,)),
    P.APPROVED: (Finding.Status.FIXED, (Finding.Status.CLOSED,)),
}


def pull_request_record_fate(
    *, pull_request: PullRequest, state: str, via: str, actor: Any | None = None
) -> bool:
    """The host says the request is merged, closed or open: move it, its proposal and its
    finding. False when nothing changed (a repeated webhook, a poll that found no news)."""
    new_status, proposal_status, proposal_from = _FATE[state]
    pull_request.refresh_from_db()
    if pull_request.status == new_status:
        return False
    reason = f"{pull_request.noun} {state} ({via})"
    with transaction.atomic():
        pull_request_transition(
            pull_request, new_status, actor=actor, reason=reason, data={"via": via}
        )
        proposal = Proposal.objects.get(pk=pull_request.proposal_id)
        if proposal.status in proposal_from:
            proposal_transition(proposal, proposal_status, actor=actor, reason=reason)
            finding = Finding.objects.get(pk=proposal.finding_id)
            finding_status, finding_from = _FINDING_FATE[proposal_status]
            if proposal.is_current and finding.status in finding_from:
                finding_transition(finding, finding_status, actor=actor, reason=reason)
    return True


def pull_request_poll(*, pull_request: PullRequest) -> bool:
    """Ask the host where an open (or closed) request stands; the webhook's fallback."""
    PullRequest.objects.filter(pk=pull_request.pk).update(last_checked_at=timezone.now())
    try:
        state = _client(pull_request).request_state(number=pull_request.number).status
    except HostError as exc:
        log.warning("polling pull request %s: %s", pull_request.pk, exc.message)
        return False
    try:
        return pull_request_record_fate(pull_request=pull_request, state=state, via="poll")
    except TransitionError:
        return False  # a webhook moved it meanwhile


def pull_requests_sweep() -> dict[str, list[int]]:
    """Scheduled with the solve sweeper: retry the requests due, poll the ones not heard of."""
    now = timezone.now()
    due = PullRequest.objects.filter(status=S.QUEUED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    attempted = [
        pk for pk in due.values_list("pk", flat=True) if pull_request_attempt(pull_request_id=pk)
    ]
    stale = now - dt.timedelta(seconds=settings.WATTSON_PR_POLL_S)
    polled = []
    for pull_request in PullRequest.objects.filter(
        Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=stale),
        status__in=(S.OPEN, S.CLOSED),
        number__isnull=False,
    ).order_by("last_checked_at", "pk")[:100]:
        if pull_request_poll(pull_request=pull_request):
            polled.append(pull_request.pk)
    return {"attempted": attempted, "moved": polled}
