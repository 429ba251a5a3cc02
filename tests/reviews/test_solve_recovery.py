"""A run whose worker died goes back to the queue when any solve task ends, not only when the
scheduled sweep (itself a task, queued behind every solve before it) comes round."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from reviews.models import Finding, SolveRun
from reviews.services.solving import solve_request
from reviews.tasks import solve_run_task
from tests.reviews.test_solving import enqueued, world  # noqa: F401 (fixtures)

R = SolveRun.Status


def _finding(world: dict, name: str) -> Finding:  # noqa: F811
    return Finding.objects.create(
        kind="opportunity",
        source="scenario",
        external_id=name,
        payload_sha256=name[0] * 64,
        service=world["finding"].service,
        title=name,
        metric="cpu",
        magnitude_pct=1,
    )


def test_a_solve_task_requeues_the_run_of_a_dead_worker(world, enqueued):  # noqa: F811
    world["add_skill"]("memoize", "fake-memoize")
    dead = solve_request(finding=_finding(world, "dead"), actor=None)
    alive = solve_request(finding=_finding(world, "alive"), actor=None)
    waiting = solve_request(finding=_finding(world, "waiting"), actor=None)
    past = timezone.now() - timedelta(seconds=1)
    SolveRun.objects.filter(pk=dead.pk).update(status=R.RUNNING, attempts=1, deadline_at=past)
    SolveRun.objects.filter(pk=alive.pk).update(
        status=R.RUNNING, attempts=1, deadline_at=timezone.now() + timedelta(minutes=5)
    )
    # Queued past its grace period: maybe only waiting behind a backlog. The sweep decides.
    SolveRun.objects.filter(pk=waiting.pk).update(deadline_at=past)
    run = solve_request(finding=world["finding"], actor=None)
    enqueued.clear()

    assert solve_run_task(run.pk) == R.SUCCEEDED

    dead.refresh_from_db()
    assert dead.status == R.QUEUED and dead.attempts == 1 and dead.deadline_at > timezone.now()
    assert dead.trace[-1]["tool"] == "sweeper"
    assert enqueued == [dead.pk]
    assert SolveRun.objects.get(pk=alive.pk).status == R.RUNNING
    assert SolveRun.objects.get(pk=waiting.pk).deadline_at == past


def test_a_skipped_task_recovers_too_and_only_once(world, enqueued):  # noqa: F811
    dead = solve_request(finding=world["finding"], actor=None)
    SolveRun.objects.filter(pk=dead.pk).update(
        status=R.RUNNING, attempts=1, deadline_at=timezone.now() - timedelta(seconds=1)
    )
    finished = solve_request(finding=_finding(world, "finished"), actor=None)
    SolveRun.objects.filter(pk=finished.pk).update(status=R.FAILED, attempts=1)
    enqueued.clear()

    # A message for a run that is already over is skipped; the dead worker's run still returns.
    assert solve_run_task(finished.pk) == "skipped"
    assert SolveRun.objects.get(pk=dead.pk).status == R.QUEUED
    assert solve_run_task(finished.pk) == "skipped"
    assert enqueued == [dead.pk]
