"""django-q2 entry points of the inlet (issue #14): thin, take an id, call a service."""

from __future__ import annotations

from reviews.services.bisect import bisects_sweep, finding_bisect
from reviews.services.solving import auto_solve_findings
from reviews.services.survey import survey_all


def bisect_task(finding_id: int) -> str:
    """Bisect one detected regression with its repository's benchmark, then auto-solve it.

    Auto-solve held the finding while its bisect was queued (reviews.services.bisect).
    """
    outcome = finding_bisect(finding_id=finding_id)
    auto_solve_findings([finding_id])
    return "skipped" if outcome is None else outcome.status


def sweep_bisects_task() -> dict[str, list[int]]:
    """Scheduled every minute: re-queue bisects whose message was lost, end those whose worker
    died, and start the auto-solve that waited on an ended one."""
    swept = bisects_sweep()
    swept["solved"] = auto_solve_findings(swept["ended"])
    return swept


def survey_all_task() -> dict[str, int]:
    """Scheduled daily: survey every registered repository; opportunities filed per repository."""
    return {result.repository: len(result.created) for result in survey_all()}
