"""Solving in the background: request, execute, sweep — the entry points tasks and pages call.

The database is the source of truth. A request creates a queued SolveRun (one active run per
finding, by constraint) and enqueues a thin task on commit. A worker claims the run, runs the
solver on a plain SolveContext and stores the result as a Proposal. The sweeper re-enqueues
what a lost broker message or a killed worker left behind, and the attempt counter gives up on
a run that kills its worker every time.

The parts live beside this module: the run's moves in solve_runs, the backend choice in
solve_backends, the solver's input in solve_context, the proposal lifecycle in proposals.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django_q.tasks import async_task

from console.logs import current_request_id
from reviews.models import Finding, Proposal, SolveRun, Source
from reviews.roles import access_act
from reviews.selectors.repositories import finding_repository
from reviews.services.audit import audit_record
from reviews.services.bisect import bisect_pending
from reviews.services.bot import bot_user
from reviews.services.proposals import (
    could_not_revise,
    proposal_store_revision,
    revision_refusal,
    revision_reinstate,
    revision_standing,
)
from reviews.services.solve_admission import auto_solve_admit
from reviews.services.solve_backends import resolve_backend, run_backend, settle_backend
from reviews.services.solve_context import (
    SolveSetupError,
    no_repository_reason,
    solve_context_build,
)
from reviews.services.solve_runs import (
    DEADLINE_MARGIN_S,
    queued_grace_s,
    solve_run_claim,
    solve_run_finish,
    solve_run_progress,
    solve_run_sweep,
    trace_records,
)
from reviews.services.transitions import TransitionError, finding_transition
from skills.solver.offline import SolverError
from skills.solver.types import Candidate

logger = logging.getLogger(__name__)

TASK_PATH = "reviews.tasks.solve_run_task"
R = SolveRun.Status
T = TypeVar("T")


def _actor(user: Any | None) -> Any | None:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --- request -------------------------------------------------------------------------------------


class SolveRefused(Exception):
    """A fix request was refused before anything was queued; the message says why."""

    status_code = 409
    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SolveNeedsConfirmation(SolveRefused):
    """A fix was requested on a decided finding without confirming; the message says what
    would happen. Pages and the API answer 409 with it."""

    code = "confirm_redecide"


class SolveNoRepository(SolveRefused):
    """No repository is registered for the finding's service: there is no code to solve."""

    code = "no_repository"


def solve_unavailable_reason(finding: Finding) -> str:
    """Why no fix can be requested for `finding` at all (the Fix panel disables its button
    with it); "" when one can."""
    reason = no_repository_reason(finding)
    return reason[:1].upper() + reason[1:] + "." if reason else ""


# A decision that stands, per status: (what happened, what stays on record, how the reports
# count its watts). A shipped or abandoned fix was approved first; its pull request's fate
# counts too (shipped within banked, abandoned as lost).
_STANDING_DECISION = {
    Proposal.Status.APPROVED: ("was approved", "the approval", "banked"),
    Proposal.Status.REJECTED: ("was rejected", "the rejection", "lost"),
    Proposal.Status.SHIPPED: (
        "was approved and its pull request merged (shipped)",
        "the shipped fix",
        "banked (as shipped)",
    ),
    Proposal.Status.ABANDONED: (
        "was approved, then its pull request was closed unmerged (abandoned)",
        "the abandoned fix",
        "lost",
    ),
}


def redecide_warning(finding: Finding) -> str:
    """What a new fix request would do to the decision that stands; "" when none stands."""
    decided = (
        Proposal.objects.filter(finding=finding, is_current=True, status__in=_STANDING_DECISION)
        .only("revision", "status")
        .first()
    )
    if decided is None:
        return ""
    happened, record, counted = _STANDING_DECISION[decided.status]
    return (
        f"Revision {decided.revision} {happened}. Requesting a fix solves the finding again: "
        f"{record} stays on record and its watts stay {counted} in the reports; a new "
        "revision is made only if the solver finds a different change, and it replaces "
        f"{record} only when a reviewer approves or rejects it."
    )


def solve_request(
    *,
    finding: Finding,
    actor: Any | None,
    backend: str | None = None,
    comment: str = "",
    enqueue: bool = True,
    confirm_redecide: bool = False,
) -> SolveRun:
    """Queue a solve of `finding`, or join the run already active for it.

    Moves the finding to SOLVING, writes audit rows and enqueues the task once the transaction
    commits (so a worker never sees a run that is not there yet). `enqueue=False` is for a
    caller that runs the solve itself (`manage.py solve --wait`). On a finding whose current
    revision was approved or rejected, a person must confirm (`confirm_redecide`), else
    SolveNeedsConfirmation says what would happen.
    """
    access_act(actor)
    unavailable = solve_unavailable_reason(finding)
    if unavailable:
        raise SolveNoRepository(unavailable)
    warning = redecide_warning(finding)
    if warning and not confirm_redecide:
        raise SolveNeedsConfirmation(
            f"{warning} Confirm to go ahead (confirm_redecide=true, or --confirm)."
        )
    choice = resolve_backend(finding=finding, backend=backend)
    chosen = choice.backend
    actor = _actor(actor)
    with transaction.atomic():
        active = SolveRun.objects.filter(finding=finding, status__in=SolveRun.ACTIVE).first()
        if active is not None:
            audit_record(actor=actor, verb="solverun.join", target=active, data={"via": "request"})
            return active
        revision = (finding.proposals.aggregate(top=Max("revision"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                run = SolveRun.objects.create(
                    finding=finding,
                    revision=revision,
                    backend=chosen,
                    backend_origin=choice.origin,
                    backend_note=choice.note[:300],
                    requested_by=actor,
                    reviewer_comment=comment,
                    deadline_at=timezone.now() + timedelta(seconds=queued_grace_s()),
                )
        except IntegrityError:
            # A concurrent request won the one-active-run constraint: join its run.
            return SolveRun.objects.get(finding=finding, status__in=SolveRun.ACTIVE)
        current = Finding.objects.filter(pk=finding.pk).values_list("status", flat=True).get()
        finding.status = current
        if current != Finding.Status.SOLVING:
            finding_transition(
                finding,
                Finding.Status.SOLVING,
                actor=actor,
                reason="fix requested",
                data={"run": run.pk, "backend": chosen},
            )
        # A new row, not a move: there is no old state to check or to record.
        audit_record(
            actor=actor,
            verb="solverun.status",
            target=run,
            new_state=R.QUEUED,
            data={
                "finding": finding.pk,
                "backend": chosen,
                "backend_origin": choice.origin,
                "revision": revision,
            },
        )
        run_id = run.pk
        if enqueue:
            transaction.on_commit(lambda: solve_run_enqueue(run_id=run_id))
    return run


def solve_run_enqueue(*, run_id: int) -> None:
    """Hand the run to the workers; a lost message is the sweeper's job, not an error here."""
    try:
        # The request's id goes along, so the worker's log lines for this run carry it.
        async_task(
            TASK_PATH,
            run_id,
            request_id=current_request_id(),
            task_name=f"solve-run-{run_id}",
            group="solve",
        )
    except Exception:
        # The broker being down must not undo the request: the run is queued in the database
        # and the sweeper enqueues it again once its grace period passes.
        logger.exception("could not enqueue solve run %s; the sweeper will retry", run_id)


# --- execute -------------------------------------------------------------------------------------


def solve_run_execute(*, run_id: int) -> SolveRun | None:
    """Run one claimed attempt of a solve to the end; None when the run was not claimable.

    Safe to call twice, concurrently or after a crash: only the claimant of the latest attempt
    may finish the run, and a proposal revision is stored at most once. A database connection
    the server dropped meanwhile is opened again for the finish (`_reconnecting`).
    """
    run = solve_run_claim(run_id=run_id)
    if run is None:
        logger.info("solve run %s is not claimable (finished or owned by a live worker)", run_id)
        return None
    attempt = run.attempts
    prior_trace = list(run.trace)
    limit = settings.WATTSON_SOLVE_MAX_ATTEMPTS
    if attempt > limit:
        message = f"gave up after {limit} attempts; the worker died each time — see trace"
        _reconnecting(lambda: _finish_failed(run, attempt, prior_trace, message))
        return _reload(run_id)
    try:
        context = solve_context_build(run=run)
    except SolveSetupError as exc:
        reason = str(exc)
        _reconnecting(lambda: _finish_failed(run, attempt, prior_trace, reason))
        return _reload(run_id)
    try:
        context, notes = settle_backend(run, attempt, context)
        prior_trace = [*prior_trace, *notes]
        progress = solve_run_progress(run_id, attempt, prior_trace)
        candidate = run_backend(
            context, progress=lambda step: _reconnecting(lambda: progress(step))
        )
    except Exception as exc:  # the solver's own failure is the run's result, not the worker's
        if isinstance(exc, SolverError):
            message = str(exc)
        else:
            logger.exception("solve run %s crashed", run_id)
            message = f"the solver crashed: {type(exc).__name__}: {exc}"
        # A backend that got partway (the anthropic agent) hands back what it spent and said.
        partial = getattr(exc, "partial", None)
        _reconnecting(lambda: _finish_failed(run, attempt, prior_trace, message, partial=partial))
        return _reload(run_id)
    _reconnecting(lambda: solve_run_store(run, attempt, prior_trace, candidate))
    return _reload(run_id)


def solve_run_execute_next(*, run_id: int) -> SolveRun | None:
    """Run, for one task message, the queued run that should go first; None when none is left.

    The broker's messages are slots; the database orders the work. A run that lost its worker
    (queued again with an attempt spent) goes first, then queued runs older than this message's
    own, then its own; and a message whose run someone else already ran takes the oldest queued
    run instead. Every queued run has a message of its own somewhere in the queue, so taking
    another's never strands one: the displaced run is taken by the next message, and the last
    of the chain by the recovered run's own message at the back. Without this a killed worker's
    run waited, re-enqueued at the back, for the whole backlog (bench/soak.py measured it).
    """
    tried: set[int] = set()
    for candidates in (_recovered_first, lambda: _older_than(run_id), lambda: [run_id]):
        for candidate in candidates():
            if candidate in tried:
                continue
            tried.add(candidate)
            run = solve_run_execute(run_id=candidate)
            if run is not None:
                return run
    for candidate in _older_than(None):
        if candidate not in tried:
            run = solve_run_execute(run_id=candidate)
            if run is not None:
                return run
    return None


# Claims lost to a racing worker are skipped; a handful of tries finds one nobody has taken.
_NEXT_TRIES = 4


def _recovered_first() -> list[int]:
    queued = SolveRun.objects.filter(status=R.QUEUED, attempts__gte=1).order_by("pk")
    return list(queued.values_list("pk", flat=True)[:_NEXT_TRIES])


def _older_than(run_id: int | None) -> list[int]:
    queued = SolveRun.objects.filter(status=R.QUEUED)
    if run_id is not None:
        queued = queued.filter(pk__lt=run_id)
    return list(queued.order_by("pk").values_list("pk", flat=True)[:_NEXT_TRIES])


def _reload(run_id: int) -> SolveRun:
    return _reconnecting(lambda: SolveRun.objects.select_related("finding").get(pk=run_id))


def _reconnecting(step: Callable[[], T]) -> T:
    """`step()`, run once more on a new connection if the server dropped the old one.

    Django opens a new connection only between tasks (close_old_connections), so a worker
    whose connection was cut mid-solve (a database restart, pg_terminate_backend, a proxy's
    idle timeout) would fail every query until its task ends, and leave a run it solved
    "running" until the sweeper finds it past its deadline. Repeating the step is safe: its
    transaction died with the connection, and a finish applies only to the attempt that still
    owns the run (one whose commit landed before the reply was lost finds the run finished).
    An error on a connection that still works (a lock timeout, say) is raised as it is.
    """
    try:
        return step()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or connection.is_usable():
            raise
        logger.warning("the database connection was lost; retrying on a new one")
        connection.close()
        return step()


def _finish_failed(
    run: SolveRun,
    attempt: int,
    trace: list[dict],
    message: str,
    *,
    partial: Candidate | None = None,
) -> None:
    standing = revision_standing(run.finding)
    if standing is not None:
        message = could_not_revise(standing, f"the solver failed: {message}")
    fields: dict[str, Any] = {"error": message, "trace": trace}
    if isinstance(partial, Candidate):
        fields.update(
            trace=[*trace, *trace_records(partial.trace)],
            usage=partial.usage,
            transcript=partial.transcript,
            model_name=partial.model_name,
            refusals=partial.refusals,
        )
    with transaction.atomic():
        data = {"error": message[:500]}
        if solve_run_finish(run, attempt=attempt, status=R.FAILED, fields=fields, data=data):
            finding_status = Finding.Status.FAILED
            if standing is not None:
                finding_status = revision_reinstate(standing, reason=message)
            _move_finding(run.finding, finding_status, reason=message[:500])


def solve_run_store(run: SolveRun, attempt: int, trace: list[dict], candidate: Candidate) -> None:
    """Finish the run with the solver's candidate: a new revision, or why there is none.

    A candidate the proposal lifecycle refuses (the same diff again, or no working fix to
    replace a working one) ends the run as "no fix" with "could not revise: …", and the
    revision that stood is handed back (reviews.services.proposals).
    """
    refusal = revision_refusal(finding=run.finding, revision=run.revision, candidate=candidate)
    standing = revision_standing(run.finding) if refusal else None
    message = could_not_revise(standing, refusal) if standing is not None else refusal
    fields = {
        "trace": [*trace, *trace_records(candidate.trace)],
        "refusals": candidate.refusals,
        "usage": candidate.usage,
        "transcript": candidate.transcript,
        "model_name": candidate.model_name,
        "error": message,
    }
    status = R.NO_FIX if refusal else R.SUCCEEDED
    with transaction.atomic():
        data = {"skill": candidate.skill_slug}
        if not solve_run_finish(run, attempt=attempt, status=status, fields=fields, data=data):
            return
        if not refusal:
            proposal_store_revision(run=run, candidate=candidate)
            finding_status = Finding.Status.IN_REVIEW
        elif standing is not None:
            finding_status = revision_reinstate(standing, reason=message)
        else:
            finding_status = Finding.Status.NO_FIX
        _move_finding(
            run.finding, finding_status, reason=message or f"proposal by {candidate.skill_slug}"
        )


def _move_finding(finding: Finding, new: str, *, reason: str) -> None:
    finding.refresh_from_db(fields=["status"])
    if finding.status == new:
        return
    try:
        finding_transition(finding, new, actor=bot_user(), reason=reason)
    except TransitionError as exc:
        # Someone closed or re-opened the finding while the solver ran; their move stands.
        logger.info("solve result not applied to finding %s: %s", finding.pk, exc)


# --- sweeper -------------------------------------------------------------------------------------


def sweep_solve_runs() -> dict[str, list[int]]:
    """Re-enqueue runs whose message was lost (queued too long) or whose worker died.

    A running run past its deadline goes back to queued (its attempt already counted), so the
    next worker claims it the ordinary way and the attempt cap still applies.
    """
    now = timezone.now()
    swept = _requeue_stale(
        Q(status=R.QUEUED, deadline_at__lt=now)
        | Q(status=R.QUEUED, deadline_at__isnull=True)
        | Q(status=R.RUNNING, deadline_at__lt=now)
    )
    requeued, recovered = swept[R.QUEUED], swept[R.RUNNING]
    _remove_orphan_worktrees()
    if requeued or recovered:
        logger.info("sweeper re-enqueued queued %s and lost %s", requeued, recovered)
    return {"requeued": requeued, "recovered": recovered}


def solve_runs_recover() -> list[int]:
    """Re-enqueue the running runs past their deadline (their worker died); their ids.

    Each solve task calls this when it ends. The scheduled sweep is a task too, and waits in
    the broker's queue behind every solve queued before it: with a backlog, a killed worker's
    run would read "running" for as long as the backlog lasts. Queued runs are left to that
    sweep: one queued past its grace period may only be waiting behind the backlog, and the
    sweep's own place in the queue tells a lost message from a waiting one.
    """
    recovered = _requeue_stale(Q(status=R.RUNNING, deadline_at__lt=timezone.now()))[R.RUNNING]
    if recovered:
        logger.info("re-enqueued runs whose worker died: %s", recovered)
    return recovered


def _requeue_stale(stale: Q) -> dict[str, list[int]]:
    """Move the stale runs back to queued (one winner per run) and enqueue those moved."""
    runs = SolveRun.objects.filter(stale).only("pk", "status", "attempts", "deadline_at", "trace")
    swept: dict[str, list[int]] = {R.QUEUED: [], R.RUNNING: []}
    for run in runs.order_by("pk"):
        old = run.status
        if solve_run_sweep(run):
            swept[old].append(run.pk)
    for run_id in [*swept[R.QUEUED], *swept[R.RUNNING]]:
        solve_run_enqueue(run_id=run_id)
    return swept


def _remove_orphan_worktrees() -> None:
    """Scratch worktrees a killed worker could not remove (git prunes its own metadata later)."""
    work_dir = Path(settings.WATTSON_WORK_DIR)
    if not work_dir.is_dir():
        return
    # Older than any live solve can be: twice the deadline.
    cutoff = time.time() - 2 * (settings.WATTSON_SOLVE_TIMEOUT_S + DEADLINE_MARGIN_S)
    # solve-*: the solver's validation worktrees; fix-*: approvals' fix-branch worktrees.
    for path in (*work_dir.glob("solve-*"), *work_dir.glob("fix-*")):
        with contextlib.suppress(OSError):
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)


# --- auto-solve on ingest ------------------------------------------------------------------------


def auto_solve_findings(finding_ids: list[int]) -> list[int]:
    """POST_INGEST_HOOKS entry: queue a solve for new findings whose source allows it."""
    if not settings.WATTSON_AUTO_SOLVE:
        return []
    queued = []
    findings = Finding.objects.filter(pk__in=finding_ids, status=Finding.Status.NEW)
    sources = {s.name: s for s in Source.objects.all()}
    for finding in findings.select_related("service", "repository", "service__repository"):
        source = sources.get(finding.source)
        if source is not None and not source.auto_solve:
            continue
        if finding_repository(finding) is None:
            # Nothing to solve against yet; a person can request the fix once one is registered.
            continue
        if bisect_pending(finding):
            continue  # the bisect task queues it when bisect has named the root cause
        if not auto_solve_admit(finding):
            continue  # a duplicate, or over a cap: the finding says which
        run = solve_request(finding=finding, actor=None, backend=None)
        queued.append(run.pk)
    return queued
