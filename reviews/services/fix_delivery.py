"""Pushing an approved fix branch to a URL repository's remote, retried until it is there.

The approval makes the fix commit and names it by a local branch (reviews.services.decisions,
reviews.patches); for a URL repository it also records a FixDelivery in the same transaction,
with the commit as a git bundle, so any machine can push it. The first push runs as a task right
after the approval commits; a failure (remote down, credentials refused) is recorded on the
delivery with its reason and the sweeper retries it with backoff, up to
WATTSON_PUSH_MAX_ATTEMPTS. Nothing here ever undoes the approval.

What happens once the branch is on the remote (a pull request) hooks into POST_PUSH_HOOKS: each
hook gets the pushed FixDelivery, and a failing hook is logged, never un-pushes anything.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from reviews.models import Decision, FixDelivery, Repository
from reviews.services.audit import audit_record
from reviews.services.repositories import repository_checkout_path
from skills.gitio import GitError, scrub_secrets
from skills.mirrors import bundle_create, bundle_unpack, has_commit, mirror_ensure, mirror_push

log = logging.getLogger(__name__)

TASK_PATH = "reviews.tasks.fix_delivery_push_task"
S = FixDelivery.Status
# pending → pending: an attempt failed and another is due later.
FIX_DELIVERY_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.PENDING, S.PUSHED, S.FAILED},
    S.FAILED: {S.PENDING},  # retried by hand (the admin's "Retry push")
    S.PUSHED: set(),
}
# A claimed attempt whose worker died is due again after this long.
_LEASE = dt.timedelta(minutes=10)
_MAX_BACKOFF_S = 6 * 3600

POST_PUSH_HOOKS: list[Callable[[FixDelivery], None]] = []


class FixDeliveryTransitionError(Exception):
    """A delivery cannot move to that status from where it is."""


def fix_delivery_transition(
    delivery: FixDelivery,
    new_status: str,
    *,
    expected: str,
    actor: Any | None = None,
    reason: str = "",
    extra_fields: dict[str, Any] | None = None,
) -> None:
    """Move `delivery` from `expected` to `new_status`: a conditional update one racer wins."""
    if new_status not in FIX_DELIVERY_TRANSITIONS.get(expected, set()):
        raise FixDeliveryTransitionError(f"a delivery cannot go from {expected} to {new_status}")
    fields = {"status": new_status, "updated_at": timezone.now(), **(extra_fields or {})}
    with transaction.atomic():
        moved = FixDelivery.objects.filter(pk=delivery.pk, status=expected).update(**fields)
        if moved != 1:
            raise FixDeliveryTransitionError(f"delivery {delivery.pk} is no longer {expected}")
        for name, value in fields.items():
            setattr(delivery, name, value)
        audit_record(
            actor=actor,
            verb="fix_delivery.status",
            target=delivery.decision.proposal,
            old_state=expected,
            new_state=new_status,
            data={"delivery": delivery.pk, "branch": delivery.branch, "reason": reason},
        )


def fix_delivery_start(
    *,
    decision: Decision,
    repository: Repository | None,
    branch: str,
    commit: str,
    head: str,
    actor: Any | None = None,
) -> FixDelivery | None:
    """In the approval's transaction: record the push a URL repository's fix branch needs.

    None for a local repository (its fix branch is all there is). The first attempt is queued
    for when the approval commits.
    """
    if repository is None or not repository.url or not branch:
        return None
    # Bundled now, on the machine that made the commit, so a retry can run anywhere.
    bundle = bundle_create(repository_checkout_path(repository), commit=commit, base=head)
    delivery = FixDelivery.objects.create(
        decision=decision,
        repository=repository,
        url=repository.url,
        branch=branch,
        commit=commit,
        base_commit=head,
        bundle=bundle,
    )
    audit_record(
        actor=actor,
        verb="fix_delivery.queued",
        target=decision.proposal,
        new_state=S.PENDING,
        data={"delivery": delivery.pk, "branch": branch, "url": repository.url},
    )
    transaction.on_commit(lambda: fix_delivery_enqueue(delivery_id=delivery.pk))
    return delivery


def fix_delivery_enqueue(*, delivery_id: int) -> None:
    """Hand the push to a worker; a lost message is the sweeper's to retry."""
    try:
        async_task(TASK_PATH, delivery_id, task_name=f"fix-push-{delivery_id}", group="push")
    except Exception:
        log.exception("could not enqueue the push of delivery %s; the sweeper will", delivery_id)


def _claim(delivery_id: int) -> bool:
    """Take the next attempt: one worker wins, and a dead one's lease runs out."""
    now = timezone.now()
    return (
        FixDelivery.objects.filter(pk=delivery_id, status=S.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(attempts=F("attempts") + 1, next_attempt_at=now + _LEASE, updated_at=now)
        == 1
    )


def _push(delivery: FixDelivery) -> None:
    """Push the delivery's commit from this machine's mirror (bundled in when it lacks it)."""
    repository = delivery.repository
    # The mirror of the URL the approval named, even if the repository was moved since.
    mirror = mirror_ensure(
        name=repository.name if repository is not None else delivery.branch,
        url=delivery.url,
        default_branch=repository.default_branch if repository is not None else "main",
        commits=(delivery.base_commit,),
    )
    if not has_commit(mirror.git_dir, delivery.commit):
        bundle_unpack(mirror, bytes(delivery.bundle))
    mirror_push(mirror, commit=delivery.commit, branch=delivery.branch)


def fix_delivery_push(*, delivery_id: int) -> FixDelivery | None:
    """One attempt to push; None when it is not due (pushed, given up, or another's attempt)."""
    if not _claim(delivery_id):
        return None
    delivery = FixDelivery.objects.select_related("repository", "decision__proposal").get(
        pk=delivery_id
    )
    try:
        _push(delivery)
    except GitError as exc:
        return _record_failure(delivery, scrub_secrets(str(exc)))
    fix_delivery_transition(
        delivery,
        S.PUSHED,
        expected=S.PENDING,
        reason=f"pushed {delivery.branch} to {delivery.url}",
        extra_fields={"pushed_at": timezone.now(), "last_error": "", "next_attempt_at": None},
    )
    log.info("pushed %s (%s) to %s", delivery.branch, delivery.commit[:12], delivery.url)
    for hook in list(POST_PUSH_HOOKS):
        try:
            hook(delivery)
        except Exception:
            log.exception("post-push hook %s failed for delivery %s", hook, delivery.pk)
    return delivery


def _record_failure(delivery: FixDelivery, message: str) -> FixDelivery:
    attempts = delivery.attempts
    if attempts >= settings.WATTSON_PUSH_MAX_ATTEMPTS:
        new_status, due = S.FAILED, None
        reason = f"gave up after {attempts} attempts: {message}"
    else:
        new_status = S.PENDING
        due = timezone.now() + dt.timedelta(seconds=min(60 * 2 ** (attempts - 1), _MAX_BACKOFF_S))
        reason = f"attempt {attempts} failed, retrying after {due:%H:%M:%S}: {message}"
    log.warning("push of delivery %s failed: %s", delivery.pk, reason)
    fix_delivery_transition(
        delivery,
        new_status,
        expected=S.PENDING,
        reason=reason,
        extra_fields={"last_error": reason, "next_attempt_at": due},
    )
    return delivery


def fix_delivery_retry(*, delivery: FixDelivery, actor: Any | None) -> None:
    """A delivery that gave up is tried again now (by hand, from the admin)."""
    fix_delivery_transition(
        delivery,
        S.PENDING,
        expected=S.FAILED,
        actor=actor,
        reason="retry requested",
        extra_fields={"next_attempt_at": None, "attempts": 0},
    )
    transaction.on_commit(lambda: fix_delivery_enqueue(delivery_id=delivery.pk))


def fix_deliveries_due() -> list[int]:
    """For the sweeper: enqueue every pending push whose time has come; their ids."""
    due = list(
        FixDelivery.objects.filter(status=S.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for delivery_id in due:
        fix_delivery_enqueue(delivery_id=delivery_id)
    return due
