"""Bisect a detected regression with the repository's benchmark and record what it names.

A regression the detector filed carries, in its evidence, the last good and the first bad commit
of its series and the attribution's candidates (reviews.detection.attribution). When more than
one commit lies between them and the repository has a bench command, `bisect_queue` (a
post-ingest hook) queues `finding_bisect` on the workers: it measures the benchmark in scratch
worktrees (skills.worktrees), through the sandbox (skills.solver.validation), bounded by
WATTSON_BISECT_MAX_STEPS and WATTSON_BISECT_TIMEOUT_S, and writes the outcome and its log into
the finding's evidence. When it names a commit, that commit becomes the finding's root cause,
and the review is routed to its author unless someone already routed it elsewhere.

Auto-solve waits for a queued bisect (`bisect_pending`): a solve started from attribution's
first guess would fix, and route, the wrong commit when bisect names another. The bisect task
queues the auto-solve when it ends, whatever its outcome, so the solver starts from the commit
bisect named, or from attribution's guess when it could not name one. A person's Request fix
never waits. (The post-ingest hooks run bisect_queue before auto-solve for this.)

A bisect task lost with its message (the Redis broker pops without receipt) or with its worker
(killed) would hold that auto-solve for ever: `bisects_sweep`, run every minute, queues a lost
message again (twice at most) and ends a bisect whose worker is gone as failed, saying so, so the
solve starts from attribution's guess.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from reviews.detection.attribution import commits_between
from reviews.detection.bisect import BisectOutcome, bisect_commits
from reviews.models import Finding, Repository
from reviews.selectors.repositories import finding_repository
from reviews.services.assignment import finding_assign
from reviews.services.audit import audit_record
from reviews.services.repositories import repository_local_path
from skills.gitio import GitError, commit_info
from skills.mirrors import MirrorError
from skills.solver.validation import BENCH_TIMEOUT_S, ValidationError, measure_benchmark
from skills.worktrees import WorktreeError, scratch_worktree

logger = logging.getLogger(__name__)

TASK_PATH = "reviews.inlet_tasks.bisect_task"
FINISHED = ("found", "inconclusive", "failed")
PENDING = ("queued", "running")
# A step's log as kept in the evidence (the benchmark's own output is in the sandbox note).
STEP_LOG_CHARS = 1500
# Times a lost bisect message is queued again before the bisect is given up.
LOST_REQUEUES = 2


def bisect_budget_s() -> float:
    """The bisect's time bound, inside the worker's task timeout (WATTSON_SOLVE_TIMEOUT_S).

    django-q2 kills a task at that timeout; a bisect allowed longer would die mid-way and leave
    its finding waiting. The difference leaves time to record the outcome.
    """
    timeout = settings.WATTSON_SOLVE_TIMEOUT_S
    return float(min(settings.WATTSON_BISECT_TIMEOUT_S, timeout - min(30, timeout // 4)))


def bisect_range(finding: Finding) -> tuple[str, str] | None:
    """(last good, first bad) commit of the finding's detected change, or None."""
    changes = (finding.evidence or {}).get("changes") or []
    if not finding.is_regression or not changes or not isinstance(changes[0], dict):
        return None
    last_good = str(changes[0].get("last_good_commit") or "")
    first_bad = str(changes[0].get("first_bad_commit") or "")
    return (last_good, first_bad) if last_good and first_bad else None


def bisect_pending(finding: Finding) -> bool:
    """Is a bisect of this finding queued or running? Auto-solve waits for it to end."""
    return ((finding.evidence or {}).get("bisect") or {}).get("status") in PENDING


def _bench_repository(finding: Finding) -> Repository | None:
    repository = finding_repository(finding)
    if repository is None or not repository.bench_cmd or not (repository.path or repository.url):
        return None
    return repository


def _set_bisect(finding_id: int, data: dict[str, Any]) -> None:
    with transaction.atomic():
        locked = Finding.objects.select_for_update().get(pk=finding_id)
        locked.evidence = {**(locked.evidence or {}), "bisect": data}
        locked.save(update_fields=["evidence", "updated_at"])


def bisect_queue(finding_ids: list[int]) -> list[int]:
    """Queue a bisect for each new detected regression that needs one; the ids queued.

    Needs one: more than one commit between the last good and first bad points, and a
    repository with a bench command to tell them apart.
    """
    queued = []
    findings = Finding.objects.filter(pk__in=finding_ids, kind=Finding.Kind.REGRESSION)
    for finding in findings.select_related("repository", "service__repository"):
        span = bisect_range(finding)
        repository = _bench_repository(finding) if span else None
        if span is None or repository is None or "bisect" in finding.evidence:
            continue
        # A URL repository's mirror may lack the commits yet: the task fetches, then decides.
        if not repository.url and len(commits_between(repository.path, *span)) < 2:
            continue
        _set_bisect(finding.pk, {"status": "queued", "queued_at": timezone.now().isoformat()})
        try:
            async_task(TASK_PATH, finding.pk, task_name=f"bisect-{finding.pk}", group="bisect")
        except Exception:
            logger.exception("could not enqueue the bisect of finding %s", finding.pk)
            continue
        queued.append(finding.pk)
    return queued


def _measure(
    repository: Repository, local_path: str, deadline: float, commit: str
) -> tuple[float | None, str]:
    timeout = max(1.0, min(BENCH_TIMEOUT_S, deadline - time.monotonic()))
    try:
        with scratch_worktree(local_path, commit) as worktree:
            seconds, log = measure_benchmark(
                repository.bench_cmd,
                cwd=worktree,
                runs=settings.WATTSON_BENCH_RUNS,
                timeout=timeout,
            )
    except (ValidationError, WorktreeError) as exc:
        return None, str(exc)
    logger.info("bisect %s at %s: %s", repository.name, commit[:12], seconds)
    return seconds, log[-STEP_LOG_CHARS:]


def finding_bisect(*, finding_id: int) -> BisectOutcome | None:
    """Bisect one finding's detected change and record it; None when there is nothing to do."""
    finding = Finding.objects.select_related("repository", "service__repository").get(pk=finding_id)
    span = bisect_range(finding)
    repository = _bench_repository(finding)
    if span is None or repository is None:
        if bisect_pending(finding):
            # The bench command was removed since it was queued: end it, or auto-solve waits on.
            outcome = BisectOutcome(status="inconclusive", reason="nothing to bisect any more")
            finding_bisect_record(finding=finding, outcome=outcome, repository_path="")
        return None
    # Done already: a redelivered task (at-least-once), or the demo bisected it in-process.
    if ((finding.evidence or {}).get("bisect") or {}).get("status") in FINISHED:
        return None
    started = timezone.now()
    try:
        local_path = repository_local_path(repository, commits=span)
    except MirrorError as exc:
        outcome = BisectOutcome(status="failed", reason=f"cannot read {repository.name}: {exc}")
        finding_bisect_record(finding=finding, outcome=outcome, repository_path="")
        return outcome
    commits = [span[0], *commits_between(local_path, *span)]
    _set_bisect(finding.pk, {"status": "running", "started_at": started.isoformat()})
    budget = bisect_budget_s()
    outcome = bisect_commits(
        commits,
        measure=partial(_measure, repository, local_path, time.monotonic() + budget),
        min_slowdown=settings.WATTSON_MIN_SPEEDUP,
        max_steps=settings.WATTSON_BISECT_MAX_STEPS,
        deadline_s=budget,
    )
    logger.info("bisect of finding %s: %s (%s)", finding.pk, outcome.status, outcome.reason)
    finding_bisect_record(
        finding=finding,
        outcome=outcome,
        repository_path=local_path,
        extra={
            "started_at": started.isoformat(),
            "finished_at": timezone.now().isoformat(),
            "bench_cmd": repository.bench_cmd,
            "commits": len(commits) - 1,
        },
    )
    return outcome


def _user_by_email(email: str) -> Any | None:
    if not email:
        return None
    users = get_user_model().objects.filter(email__iexact=email, is_active=True)
    # The older account wins when two share an address, as on ingest.
    return users.order_by("id").first()


def finding_bisect_record(
    *,
    finding: Finding,
    outcome: BisectOutcome,
    repository_path: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the outcome into the evidence; a named commit becomes the root cause."""
    data = {**outcome.as_dict(), **(extra or {})}
    info = None
    if outcome.status == "found":
        try:
            info = commit_info(repository_path, outcome.commit, max_diff_bytes=1)
        except (GitError, ValueError):
            info = None
    with transaction.atomic():
        locked = Finding.objects.select_for_update().get(pk=finding.pk)
        old_commit, old_author = locked.root_cause_commit, locked.root_cause_author
        locked.evidence = {**(locked.evidence or {}), "bisect": data}
        fields = ["evidence", "updated_at"]
        if info is not None:
            locked.root_cause_commit = info.sha
            locked.root_cause_title = info.subject[:500]
            locked.root_cause_author = info.author_email[:254]
            fields += ["root_cause_commit", "root_cause_title", "root_cause_author"]
        locked.save(update_fields=fields)
        audit_record(
            actor=None,
            verb="finding.bisect",
            target=locked,
            old_state=old_commit[:12],
            new_state=(info.sha[:12] if info else outcome.status),
            data={"reason": outcome.reason[:500], "steps": len(outcome.steps)},
        )
        # Routed by the provisional root cause (or to nobody): follow the named commit; a
        # person's own routing stays.
        current = locked.assignee
        routed_by_cause = current is None or (
            bool(old_author) and (current.email or "").lower() == old_author.lower()
        )
    if info is not None and routed_by_cause:
        author = _user_by_email(info.author_email)
        if author is not None:
            finding_assign(finding=locked, assignee=author, actor=None, via="bisect")


# --- sweeper -------------------------------------------------------------------------------------


def _since(stamp: Any, now: datetime) -> float:
    """Seconds from an ISO time kept in the evidence to now (a missing one counts as long ago)."""
    try:
        return (now - datetime.fromisoformat(str(stamp))).total_seconds()
    except ValueError:
        return float("inf")


def _sweep_one(finding_id: int, seen: dict[str, Any], now: datetime) -> str | None:
    """Re-queue or end one stale bisect; "requeued", "ended" or None if it moved meanwhile."""
    with transaction.atomic():
        locked = Finding.objects.select_for_update().get(pk=finding_id)
        if (locked.evidence or {}).get("bisect") != seen:
            return None  # its worker wrote since we looked: alive after all
        requeues = int(seen.get("requeues", 0))
        if seen.get("status") == "queued" and requeues < LOST_REQUEUES:
            data = {"status": "queued", "queued_at": now.isoformat(), "requeues": requeues + 1}
            locked.evidence = {**locked.evidence, "bisect": data}
            locked.save(update_fields=["evidence", "updated_at"])
            transaction.on_commit(
                lambda: async_task(
                    TASK_PATH, finding_id, task_name=f"bisect-{finding_id}", group="bisect"
                )
            )
            return "requeued"
        if seen.get("status") == "queued":
            reason = (
                f"the bisect task was lost {requeues + 1} times; the solve starts from attribution"
            )
        else:
            minutes = _since(seen.get("started_at"), now) / 60
            reason = (
                f"the worker running the bisect stopped ({minutes:.0f} min ago, killed or past "
                "its timeout); the solve starts from attribution"
            )
        outcome = BisectOutcome(status="failed", reason=reason)
        finding_bisect_record(finding=locked, outcome=outcome, repository_path="")
    return "ended"


def bisects_sweep(now: datetime | None = None) -> dict[str, list[int]]:
    """Bisects whose message or worker was lost: queued again, or ended as failed.

    Queued for longer than WATTSON_SOLVE_QUEUED_GRACE_S with no worker starting it: the message
    was lost. Running for longer than the task timeout and a minute: django-q2 has killed it, or
    its worker died. Returns {"requeued": [...], "ended": [...]} (finding ids); the caller
    starts the auto-solve that waited on the ended ones.
    """
    now = now or timezone.now()
    grace = settings.WATTSON_SOLVE_QUEUED_GRACE_S
    dead_after = settings.WATTSON_SOLVE_TIMEOUT_S + 60
    swept: dict[str, list[int]] = {"requeued": [], "ended": []}
    pending = Finding.objects.filter(
        kind=Finding.Kind.REGRESSION, evidence__bisect__status__in=PENDING
    ).only("pk", "evidence")
    for finding in pending.order_by("pk"):
        seen = finding.evidence["bisect"]
        stale = (
            _since(seen.get("queued_at"), now) > grace
            if seen.get("status") == "queued"
            else _since(seen.get("started_at"), now) > dead_after
        )
        if stale and (moved := _sweep_one(finding.pk, seen, now)) is not None:
            swept[moved].append(finding.pk)
    if swept["requeued"] or swept["ended"]:
        logger.info("bisect sweeper: requeued %s, ended %s", swept["requeued"], swept["ended"])
    return swept
