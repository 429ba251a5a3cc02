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


def test_a_solve_task_requeues_the_run_of_a_dead_worker_and_runs_it_first(world, enqueued):  # noqa: F811
    world["add_skill"]("memoize", "fake-memoize")
    dead = solve_request(finding=_finding(world, "dead"), actor=None)
    alive = solve_request(finding=_finding(world, "alive"), actor=None)
    run = solve_request(finding=world["finding"], actor=None)
    past = timezone.now() - timedelta(seconds=1)
    SolveRun.objects.filter(pk=dead.pk).update(status=R.RUNNING, attempts=1, deadline_at=past)
    SolveRun.objects.filter(pk=alive.pk).update(
        status=R.RUNNING, attempts=1, deadline_at=timezone.now() + timedelta(minutes=5)
    )
    enqueued.clear()

    # The message is the run's, but the dead worker's run goes first: re-enqueued at the back
    # of a backlog, it would otherwise wait for all of it.
    assert solve_run_task(run.pk) == R.NO_FIX  # the "dead" finding has no fix; its run is over
    dead.refresh_from_db()
    assert dead.status == R.NO_FIX and dead.attempts == 2
    assert [entry["tool"] for entry in dead.trace if entry["tool"] != "attempt"][:1] == ["sweeper"]
    assert enqueued == [dead.pk]  # its own message too: a slot for whichever run is left
    assert SolveRun.objects.get(pk=alive.pk).status == R.RUNNING  # a live worker's: untouched
    # This message's own run is still queued: the next message (the dead run's) takes it.
    assert SolveRun.objects.get(pk=run.pk).status == R.QUEUED
    assert solve_run_task(dead.pk) == R.SUCCEEDED
    assert SolveRun.objects.get(pk=run.pk).status == R.SUCCEEDED
    assert solve_run_task(dead.pk) == "skipped"  # nothing queued is left


def test_a_message_takes_older_queued_runs_before_its_own(world, enqueued):  # noqa: F811
    world["add_skill"]("memoize", "fake-memoize")
    older = solve_request(finding=world["finding"], actor=None)
    newer = solve_request(finding=_finding(world, "newer"), actor=None)
    enqueued.clear()

    # The older run's message was lost, or another message took the run ahead of it: FIFO holds.
    assert solve_run_task(newer.pk) == R.SUCCEEDED
    assert SolveRun.objects.get(pk=older.pk).status == R.SUCCEEDED
    assert SolveRun.objects.get(pk=newer.pk).status == R.QUEUED
    assert solve_run_task(newer.pk) == R.NO_FIX
    assert solve_run_task(newer.pk) == "skipped"
    assert enqueued == []


def test_a_skipped_task_recovers_too_and_only_once(world, enqueued, settings):  # noqa: F811
    dead = solve_request(finding=world["finding"], actor=None)
    SolveRun.objects.filter(pk=dead.pk).update(
        status=R.RUNNING,
        attempts=1,
        deadline_at=timezone.now() - timedelta(seconds=1),
    )
    finished = solve_request(finding=_finding(world, "finished"), actor=None)
    SolveRun.objects.filter(pk=finished.pk).update(status=R.FAILED, attempts=1)
    enqueued.clear()

    # A message for a run that is already over takes the dead worker's run, recovered once;
    # at the attempt cap it is given up on, not solved again.
    settings.WATTSON_SOLVE_MAX_ATTEMPTS = 1
    assert solve_run_task(finished.pk) == R.FAILED
    dead.refresh_from_db()
    assert dead.status == R.FAILED and "gave up after 1 attempts" in dead.error
    assert solve_run_task(finished.pk) == "skipped"
    assert enqueued == [dead.pk]
