"""django-q2 entry points: thin, take an id, call a service."""

from __future__ import annotations

from reviews.services.solve_admission import auto_solve_release_waiting
from reviews.services.solving import solve_request, solve_run_execute
from reviews.services.solving import sweep_solve_runs as _sweep


def solve_run_task(run_id: int) -> str:
    """Claim and run one solve; a run that is not claimable is skipped, not an error."""
    run = solve_run_execute(run_id=run_id)
    return "skipped" if run is None else run.status


def sweep_solve_runs() -> dict[str, list[int]]:
    """Scheduled every minute: re-enqueue runs a lost message or a killed worker left behind.

    Then queue the findings auto-solve left waiting for a cap, while there is room.
    """
    swept = _sweep()
    swept["released"] = auto_solve_release_waiting(
        queue=lambda finding: solve_request(finding=finding, actor=None, backend=None)
    )
    return swept
