"""Every SolveRun move goes through its transition table and audits the state it really left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reviews.models import AuditEvent, Finding, Proposal, Service, SolveRun
from reviews.services import solving
from reviews.services.proposals import proposal_store_revision
from reviews.services.solve_runs import (
    solve_run_claim,
    solve_run_finish,
    solve_run_retry,
    solve_run_sweep,
)
from reviews.services.transitions import TransitionError, solve_run_transition
from skills.solver.types import Candidate, Validation

R = SolveRun.Status


@pytest.fixture
def finding(db) -> Finding:
    service = Service.objects.create(name="checkout")
    return Finding.objects.create(
        kind="opportunity",
        source="test",
        external_id="moves",
        payload_sha256="0" * 64,
        service=service,
        title="slow checkout",
        metric="cpu",
        magnitude_pct=5,
        status=Finding.Status.SOLVING,
    )


def make_run(finding: Finding, status: str = R.QUEUED, attempts: int = 0, **fields) -> SolveRun:
    fields.setdefault("deadline_at", timezone.now() + timedelta(minutes=5))
    return SolveRun.objects.create(finding=finding, status=status, attempts=attempts, **fields)


def moves(run: SolveRun) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(verb="solverun.status", target_id=str(run.pk))
    return [(e.old_state, e.new_state) for e in events.order_by("pk")]


def past() -> timezone.datetime:
    return timezone.now() - timedelta(seconds=1)


def test_claim_starts_the_next_attempt_and_audits_it(finding):
    run = make_run(finding)
    claimed = solve_run_claim(run_id=run.pk)
    run.refresh_from_db()
    assert claimed is not None and run.status == R.RUNNING and run.attempts == 1
    assert run.deadline_at > timezone.now() and run.trace[-1]["tool"] == "attempt"
    assert moves(run) == [("queued", "running")]
    assert AuditEvent.objects.get(verb="solverun.status").data["attempt"] == 1


def test_claim_leaves_a_live_workers_run_and_a_finished_run_alone(finding):
    live = make_run(finding, R.RUNNING, attempts=1)
    assert solve_run_claim(run_id=live.pk) is None
    live.refresh_from_db()
    assert (live.status, live.attempts) == (R.RUNNING, 1)
    SolveRun.objects.filter(pk=live.pk).update(status=R.SUCCEEDED)
    assert solve_run_claim(run_id=live.pk) is None
    assert moves(live) == []


def test_claiming_a_run_whose_worker_died_retries_it_first(finding):
    run = make_run(finding, R.RUNNING, attempts=1, deadline_at=past())
    assert solve_run_claim(run_id=run.pk) is not None
    run.refresh_from_db()
    assert (run.status, run.attempts) == (R.RUNNING, 2)
    # The real path: the lost attempt went back to the queue, then the new one started.
    assert moves(run) == [("running", "queued"), ("queued", "running")]
    assert [step["tool"] for step in run.trace] == ["retry", "attempt"]


def test_retry_refuses_a_run_that_is_not_running(finding):
    run = make_run(finding)
    assert solve_run_retry(run, reason="test") is False
    run.refresh_from_db()
    assert run.status == R.QUEUED and moves(run) == []


@pytest.mark.parametrize("status", [R.SUCCEEDED, R.NO_FIX, R.FAILED])
def test_finish_moves_the_claimed_attempt_to_its_outcome(finding, status):
    run = make_run(finding, R.RUNNING, attempts=1)
    assert solve_run_finish(run, attempt=1, status=status, fields={"error": "x"}, data={})
    run.refresh_from_db()
    assert run.status == status and run.finished_at is not None and run.error == "x"
    assert moves(run) == [("running", status)]


def test_an_outlived_attempt_cannot_finish_the_run(finding):
    # Attempt 1's worker overran its deadline and attempt 2 owns the run now.
    run = make_run(finding, R.RUNNING, attempts=2)
    assert not solve_run_finish(run, attempt=1, status=R.SUCCEEDED, fields={}, data={})
    run.refresh_from_db()
    assert run.status == R.RUNNING and run.finished_at is None
    assert moves(run) == []


def test_sweeping_a_running_run_audits_running(finding):
    run = make_run(finding, R.RUNNING, attempts=1, deadline_at=past())
    assert solve_run_sweep(run)
    run.refresh_from_db()
    assert run.status == R.QUEUED and run.deadline_at > timezone.now()
    assert moves(run) == [("running", "queued")]
    assert AuditEvent.objects.get(verb="solverun.status").data["reason"] == (
        "worker lost (past deadline)"
    )


def test_sweeping_a_queued_run_audits_queued(finding):
    run = make_run(finding, deadline_at=past())
    assert solve_run_sweep(run)
    run.refresh_from_db()
    assert run.status == R.QUEUED and run.deadline_at > timezone.now()
    assert moves(run) == [("queued", "queued")]


def test_a_sweep_loses_to_a_claim_made_after_it_read_the_run(finding):
    run = make_run(finding, deadline_at=past())
    stale_copy = SolveRun.objects.get(pk=run.pk)
    assert solve_run_claim(run_id=run.pk) is not None
    assert not solve_run_sweep(stale_copy)
    run.refresh_from_db()
    assert run.status == R.RUNNING
    assert moves(run) == [("queued", "running")]


def test_the_sweeper_reports_what_it_moved(finding, monkeypatch):
    monkeypatch.setattr(solving, "solve_run_enqueue", lambda *, run_id: None)
    run = make_run(finding, R.RUNNING, attempts=1, deadline_at=past())
    assert solving.sweep_solve_runs() == {"requeued": [], "recovered": [run.pk]}
    assert moves(run) == [("running", "queued")]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (R.QUEUED, R.SUCCEEDED),
        (R.QUEUED, R.FAILED),
        (R.SUCCEEDED, R.RUNNING),
        (R.FAILED, R.QUEUED),
        (R.NO_FIX, R.RUNNING),
    ],
)
def test_an_illegal_move_is_refused_with_a_clear_error(finding, old, new):
    run = make_run(finding, old)
    with pytest.raises(TransitionError, match=f"cannot move from {old} to {new}"):
        solve_run_transition(run, new)
    run.refresh_from_db()
    assert run.status == old and moves(run) == []


def test_a_new_revision_leaves_an_approved_one_on_record(finding):
    """Decisions are facts: a new revision stops the approved one being current, nothing more."""
    approved = Proposal.objects.create(
        finding=finding, revision=1, status=Proposal.Status.APPROVED, diff="old", is_current=True
    )
    run = make_run(finding, R.RUNNING, attempts=1, revision=2)
    candidate = Candidate(
        outcome="proposal",
        skill_slug="memoize",
        diff="new",
        rationale="again",
        validation=Validation(applies=True, tests_passed=True),
    )
    second = proposal_store_revision(run=run, candidate=candidate)
    approved.refresh_from_db()
    assert second.is_current and second.revision == 2
    assert approved.status == Proposal.Status.APPROVED and not approved.is_current
    moves = AuditEvent.objects.filter(verb="proposal.status", target_id=str(approved.pk))
    assert not moves.exists()
