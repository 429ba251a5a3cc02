"""A SolveRun's lifecycle: claim, retry, finish, sweep, cancel; each one solve_run_transition.

Each move is a conditional UPDATE guarded by what the caller read (the attempt number, the
deadline), so exactly one of two racing workers or sweepers wins, on SQLite and PostgreSQL
alike, and the audit row names the state the run really left.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from reviews import metrics
from reviews.models import SolveRun
from reviews.services.transitions import TransitionError, solve_run_transition
from skills.tools.records import ToolCallRecord

logger = logging.getLogger(__name__)

# A run's deadline is the task timeout plus this margin: django-q kills the task at the timeout,
# so a run still "running" after the margin has lost its worker.
DEADLINE_MARGIN_S = 5
R = SolveRun.Status


def queued_grace_s() -> int:
    return int(getattr(settings, "WATTSON_SOLVE_QUEUED_GRACE_S", 120))


def trace_entry(tool: str, summary: str, **arguments: Any) -> dict[str, Any]:
    """A step of the run's own (a claim, a sweep, a backend note) in the trace's shape."""
    return {
        "tool": tool,
        "arguments": arguments,
        "summary": summary,
        "duration_ms": 0.0,
        "error": "",
        "at": timezone.now().isoformat(),
    }


def trace_records(trace: list[ToolCallRecord | dict]) -> list[dict]:
    """The solver's tool calls as the JSON the run stores."""
    out = []
    for record in trace:
        if isinstance(record, dict):
            out.append(record)
        else:
            out.append(
                {
                    "tool": record.tool,
                    "arguments": record.arguments,
                    "summary": record.summary,
                    "duration_ms": round(record.duration_ms, 1),
                    "error": record.error,
                }
            )
    return out


def solve_run_claim(*, run_id: int) -> SolveRun | None:
    """Claim the run for a new attempt; None when it is finished or a live worker owns it.

    A running run past its deadline lost its worker (the broker delivered the task again): it
    is retried first, so its lost attempt stays counted and the attempt cap applies.
    """
    run = (
        SolveRun.objects.select_related(
            "finding", "finding__service", "finding__repository", "requested_by"
        )
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        return None
    worker_gone = run.status == R.RUNNING and _past(run.deadline_at)
    if worker_gone and not solve_run_retry(run, reason="the task came again: the worker is gone"):
        return None
    if run.status != R.QUEUED:
        return None
    now = timezone.now()
    attempt = run.attempts + 1
    started = trace_entry(
        "attempt", f"attempt {attempt} started (pid {os.getpid()})", attempt=attempt
    )
    try:
        solve_run_transition(
            run,
            R.RUNNING,
            guard={"attempts": run.attempts, "deadline_at": run.deadline_at},
            extra_fields={
                "attempts": attempt,
                "started_at": now,
                "deadline_at": now
                + timedelta(seconds=settings.WATTSON_SOLVE_TIMEOUT_S + DEADLINE_MARGIN_S),
                "finished_at": None,
                "trace": [*(run.trace or []), started],
            },
            data={"attempt": attempt},
        )
    except TransitionError as exc:
        logger.info("solve run %s not claimed: %s", run_id, exc)
        return None
    return run


def _past(deadline: datetime | None) -> bool:
    return deadline is not None and deadline < timezone.now()


def solve_run_retry(run: SolveRun, *, reason: str) -> bool:
    """Put a running run whose worker is gone back in the queue; False when another caller won."""
    summary = f"attempt {run.attempts} passed its deadline: {reason}; re-enqueued"
    return _requeue(run, expected=R.RUNNING, tool="retry", summary=summary, reason=reason)


def solve_run_sweep(run: SolveRun) -> bool:
    """Re-enqueue a stale run as the sweeper read it: queued past its grace period (the message
    was lost) or running past its deadline (the worker died). False when another caller won."""
    if run.status == R.RUNNING:
        reason = "worker lost (past deadline)"
        summary = f"attempt {run.attempts} passed its deadline: the worker is gone; re-enqueued"
    else:
        reason = "message lost (queued past its grace period)"
        summary = "re-enqueued: queued past its grace period"
    return _requeue(run, expected=run.status, tool="sweeper", summary=summary, reason=reason)


def _requeue(run: SolveRun, *, expected: str, tool: str, summary: str, reason: str) -> bool:
    arguments = {"attempt": run.attempts} if expected == R.RUNNING else {}
    entry = trace_entry(tool, summary, **arguments)
    try:
        solve_run_transition(
            run,
            R.QUEUED,
            expected=expected,
            # As read: a claim, a renewal or another sweep since then wins over this one.
            guard={"attempts": run.attempts, "deadline_at": run.deadline_at},
            extra_fields={
                "deadline_at": timezone.now() + timedelta(seconds=queued_grace_s()),
                "trace": [*(run.trace or []), entry],
            },
            reason=reason,
            data={"attempt": run.attempts},
        )
    except TransitionError as exc:
        logger.info("solve run %s not re-enqueued: %s", run.pk, exc)
        return False
    return True


def solve_run_finish(
    run: SolveRun, *, attempt: int, status: str, fields: dict[str, Any], data: dict[str, Any]
) -> bool:
    """Finish `attempt` of a running run as `status`; False when a later attempt owns the run."""
    try:
        solve_run_transition(
            run,
            status,
            expected=R.RUNNING,
            guard={"attempts": attempt},
            extra_fields={"finished_at": timezone.now(), **fields},
            data={"attempt": attempt, **data},
        )
    except TransitionError as exc:
        # This worker outlived its deadline and a later attempt claimed the run, or a reviewer
        # decided meanwhile and cancelled it.
        logger.info(
            "solve run %s attempt %s lost its claim; result dropped: %s", run.pk, attempt, exc
        )
        return False
    metrics.solve_finished(run=run, outcome=status, skill=data.get("skill", ""))
    return True


def solve_run_cancel(*, finding_id: int, actor: Any | None, reason: str) -> SolveRun | None:
    """Cancel the finding's active run, if any, so its result is never stored; the run or None.

    A reviewer decided the revision the run would replace. A worker still running it finds
    the run cancelled when it finishes (solve_run_finish loses its claim) and drops its
    candidate; a queued run is never claimed. None when no run is active any more.
    """
    for _ in range(3):
        run = SolveRun.objects.filter(finding_id=finding_id, status__in=SolveRun.ACTIVE).first()
        if run is None:
            return None
        entry = trace_entry("cancel", reason)
        try:
            solve_run_transition(
                run,
                R.CANCELLED,
                actor=actor,
                reason=reason,
                # As read: a claim or a finish since then makes us read the run again.
                guard={"attempts": run.attempts},
                extra_fields={
                    "finished_at": timezone.now(),
                    "error": reason,
                    "trace": [*(run.trace or []), entry],
                },
                data={"attempt": run.attempts},
            )
        except TransitionError as exc:
            logger.info("solve run %s not cancelled yet: %s", run.pk, exc)
            continue
        return run
    return None


def solve_run_progress(run_id: int, attempt: int, prior_trace: list[dict]):
    """Writes the trace so far onto the run as the solver works: the page shows it live."""
    steps: list[dict] = []

    def record(step: ToolCallRecord) -> None:
        steps.extend(trace_records([step]))
        SolveRun.objects.filter(pk=run_id, status=R.RUNNING, attempts=attempt).update(
            trace=[*prior_trace, *steps]
        )

    return record
