"""django-q2 entry points: thin, take an id, call a service."""

from __future__ import annotations

import logging

from console.logs import request_id_bound
from reviews.services.code_hosts.delivery import pull_request_attempt, pull_requests_sweep
from reviews.services.fix_delivery import fix_deliveries_due, fix_delivery_push
from reviews.services.regressions import detection_sweep
from reviews.services.solve_admission import auto_solve_release_waiting
from reviews.services.solving import solve_request, solve_run_execute_next, solve_runs_recover
from reviews.services.solving import sweep_solve_runs as _sweep

logger = logging.getLogger(__name__)


def solve_run_task(run_id: int, request_id: str = "") -> str:
    """Run one solve for this message: a dead worker's run first, else the oldest queued one.

    The message names a run, but the database decides which queued run goes first
    (solve_run_execute_next): without that a killed worker's run, re-enqueued at the back,
    would wait for the whole backlog. Before and after, the runs a dead worker left running
    past their deadline go back to the queue (solve_runs_recover): the scheduled sweep may be
    waiting behind a backlog. `request_id` is that of the request that queued the run (blank
    from the sweeper): the task's log lines carry it.
    """
    with request_id_bound(request_id or f"run-{run_id}"):
        _recover()
        run = solve_run_execute_next(run_id=run_id)
        _recover()
    return "skipped" if run is None else run.status


def _recover() -> None:
    try:
        solve_runs_recover()
    except Exception:  # the solve is what this task is for; the sweep comes later
        logger.exception("could not re-enqueue the runs of dead workers")


def sweep_solve_runs() -> dict[str, list[int]]:
    """Scheduled every minute: re-enqueue runs a lost message or a killed worker left behind.

    Then queue the findings auto-solve left waiting for a cap, while there is room, and the
    fix-branch pushes due a retry.
    """
    swept = _sweep()
    swept["released"] = auto_solve_release_waiting(
        queue=lambda finding: solve_request(finding=finding, actor=None, backend=None)
    )
    swept["pushes"] = fix_deliveries_due()
    return swept


def fix_delivery_push_task(delivery_id: int) -> str:
    """One attempt to push an approved fix branch to its remote; retries are the sweeper's."""
    delivery = fix_delivery_push(delivery_id=delivery_id)
    return "skipped" if delivery is None else delivery.status


def pull_request_open_task(pull_request_id: int) -> str:
    """The first attempt at opening a fix's pull request; retries are the sweeper's."""
    pull_request = pull_request_attempt(pull_request_id=pull_request_id)
    return "skipped" if pull_request is None else pull_request.status


def sweep_pull_requests() -> dict[str, list[int]]:
    """Scheduled every minute: open the pull requests due a retry, poll the open ones whose
    fate no webhook has reported for WATTSON_PR_POLL_S."""
    return pull_requests_sweep()


def detect_regressions() -> list[int]:
    """Scheduled hourly: change-point detection over stored series; the findings it filed."""
    return [filed.finding for filed in detection_sweep() if filed.created]
