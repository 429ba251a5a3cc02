"""Issue 11 item 2: a working fix stays approvable while its re-solve runs.

Deciding revision N while the solve of revision N+1 is queued or running moves the finding,
cancels the run (through solve_run_transition) and discards whatever the worker still hands in.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from reviews.models import Finding, Proposal, SolveRun
from reviews.reports import ReportFilters, savings_report
from reviews.services.decisions import proposal_decide
from reviews.services.solve_runs import solve_run_claim
from reviews.services.solving import solve_request, solve_run_execute, solve_run_store
from skills.models import SkillStats
from tests.reviews.gate_helpers import make_proposal, make_repo, make_skill
from tests.reviews.record_helpers import fix

P, R, F = Proposal.Status, SolveRun.Status, Finding.Status


@pytest.fixture(autouse=True)
def _work_dir(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


@pytest.fixture
def proposal(repo, reviewer):
    make_skill("memoize")
    return make_proposal(repo=repo, assignee=reviewer, estimated_watts=120.0)


def _banked(manager) -> float:
    return savings_report(user=manager, filters=ReportFilters()).banked.watts


def _stats() -> set[tuple]:
    fields = ("skill_id", "version_id", "approved", "rejected", "changes_requested")
    return set(SkillStats.objects.values_list(*fields))


@pytest.mark.django_db
def test_approving_revision_n_while_its_re_solve_runs_discards_the_re_solve(
    proposal, repo, reviewer, reviewer2, manager, client_for
):
    proposal_decide(
        proposal=proposal, actor=reviewer, verdict="request_changes", comment="Rename `result`."
    )
    queued = SolveRun.objects.get(finding=proposal.finding, status=R.QUEUED)
    running = solve_run_claim(run_id=queued.pk)  # a worker is on it
    assert running is not None and running.status == R.RUNNING

    # The page still offers the approval, and says what it does to the running solve.
    page = client_for(reviewer2).get(reverse("reviews:proposal", args=[proposal.pk]))
    text = page.content.decode()
    assert "Approve revision 1" in text
    assert "deciding now cancels that solve and its result is discarded" in text
    assert 'id="changes-form"' not in text, "changes are already requested"

    answer = client_for(reviewer2).post(
        reverse("reviews:proposal_approve", args=[proposal.pk]),
        {"revision": 1, "diff_sha256": proposal.diff_sha256},
    )
    assert answer.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.is_current) == (P.APPROVED, True)
    assert proposal.branch_name == f"wattson/{proposal.finding_id}-r1"
    assert Finding.objects.get(pk=proposal.finding_id).status == F.FIXED
    running.refresh_from_db()
    assert running.status == R.CANCELLED
    assert running.error == (
        "cancelled: revision 1 was approved by ravi while this re-solve ran, so its result was "
        "discarded. Request a fix to solve again."
    )
    assert _banked(manager) == 120.0

    # The worker finishes afterwards with a validated fix: nothing of it is stored.
    solve_run_store(running, running.attempts, [], fix(repo, 1))
    running.refresh_from_db()
    assert running.status == R.CANCELLED
    assert list(Proposal.objects.filter(finding=proposal.finding).values_list("revision")) == [(1,)]
    assert Finding.objects.get(pk=proposal.finding_id).status == F.FIXED
    assert _banked(manager) == 120.0
    live = _stats()
    call_command("rebuild_skill_stats")
    assert _stats() == live

    finding_page = client_for(manager).get(reverse("reviews:finding", args=[proposal.finding_id]))
    assert "Cancelled" in finding_page.content.decode()


@pytest.mark.django_db
def test_rejecting_while_a_requested_fix_is_queued_cancels_it_before_a_worker_starts(
    proposal, reviewer, reviewer2
):
    run = solve_request(finding=proposal.finding, actor=reviewer, enqueue=False)
    assert Finding.objects.get(pk=proposal.finding_id).status == F.SOLVING

    proposal_decide(proposal=proposal, actor=reviewer2, verdict="reject", reason="unsafe")

    run.refresh_from_db()
    assert run.status == R.CANCELLED and "was rejected by ravi" in run.error
    assert Finding.objects.get(pk=proposal.finding_id).status == F.REJECTED
    assert solve_run_execute(run_id=run.pk) is None, "a cancelled run is never claimed"
    # The slot is free: a new request starts a new run for revision 2.
    again = solve_request(
        finding=proposal.finding, actor=reviewer, enqueue=False, confirm_redecide=True
    )
    assert (again.pk != run.pk, again.revision, again.status) == (True, 2, R.QUEUED)
