"""Deciding is always possible or clearly refused: every (finding, proposal, action) pair.

Walks each finding status (a re-solve under way counts as "solving" with a queued run) against
each proposal status and each verdict, through the API and the HTML view: never a 500. The
current revision in review (pending, or with changes requested: a working fix stays approvable
until a validated revision replaces it) is decided and the finding moves, also while a re-solve
runs, which is then cancelled; changes are requested only on a pending revision with no re-solve
under way. Anything else is a 409 (the page: a redirect with the reason) and nothing changes.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from reviews.models import Decision, Finding, Proposal, SolveRun
from reviews.services.decisions import DecisionConflict, proposal_decide
from tests.reviews.gate_helpers import make_proposal, make_repo

FS, PS = Finding.Status, Proposal.Status
DECIDABLE = {FS.IN_REVIEW, FS.NO_FIX, FS.FAILED}
IN_REVIEW = {PS.PENDING, PS.CHANGES_REQUESTED}
VERDICTS = {
    "approve": ({}, FS.FIXED, PS.APPROVED, "proposal_approve"),
    "reject": ({"reason": "incorrect"}, FS.REJECTED, PS.REJECTED, "proposal_reject"),
    "request_changes": (
        {"comment": "keep the loop readable"},
        FS.SOLVING,
        PS.CHANGES_REQUESTED,
        "proposal_request_changes",
    ),
}


@pytest.fixture(autouse=True)
def _work_dir(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _world(tmp_path, reviewer, finding_status: str, proposal_status: str) -> Proposal:
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"), assignee=reviewer)
    Proposal.objects.filter(pk=proposal.pk).update(
        status=proposal_status, is_current=proposal_status != PS.SUPERSEDED
    )
    Finding.objects.filter(pk=proposal.finding_id).update(status=finding_status)
    if finding_status == FS.SOLVING:
        # "Request fix" again while revision 1 waits: revision 2 is being solved.
        SolveRun.objects.create(finding_id=proposal.finding_id, revision=2)
    proposal.refresh_from_db()
    return proposal


def _state(proposal: Proposal) -> tuple[str, str, int]:
    finding = Finding.objects.get(pk=proposal.finding_id)
    proposal.refresh_from_db()
    return finding.status, proposal.status, Decision.objects.filter(proposal=proposal).count()


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["api", "page"])
@pytest.mark.parametrize("verdict", list(VERDICTS))
@pytest.mark.parametrize("proposal_status", PS.values)
@pytest.mark.parametrize("finding_status", FS.values)
def test_every_decision_is_made_or_clearly_refused(
    tmp_path, reviewer, client_for, finding_status, proposal_status, verdict, channel
):
    proposal = _world(tmp_path, reviewer, finding_status, proposal_status)
    extra, finding_after, proposal_after, view = VERDICTS[verdict]
    pins = {"revision": proposal.revision, "diff_sha256": proposal.diff_sha256}
    before = _state(proposal)
    client = client_for(reviewer)
    if channel == "api":
        response = client.post(
            f"/api/v1/proposals/{proposal.pk}/decisions/",
            {"verdict": verdict, **pins, **extra},
            content_type="application/json",
        )
    else:
        response = client.post(reverse(f"reviews:{view}", args=[proposal.pk]), {**pins, **extra})
    messages = " ".join(str(m) for m in get_messages(response.wsgi_request))

    if verdict == "request_changes":
        works = proposal_status == PS.PENDING and finding_status in DECIDABLE
    else:
        works = proposal_status in IN_REVIEW and finding_status in DECIDABLE | {FS.SOLVING}
    if works:
        assert response.status_code == (201 if channel == "api" else 302)
        finding_now, proposal_now, decisions = _state(proposal)
        assert (finding_now, proposal_now, decisions) == (finding_after, proposal_after, 1)
        if finding_status == FS.SOLVING:
            run = SolveRun.objects.get(finding_id=proposal.finding_id, revision=2)
            assert run.status == SolveRun.Status.CANCELLED
            assert "its result was discarded" in run.error
        return
    assert _state(proposal) == before, "a refused decision changed nothing"
    if channel == "api":
        assert response.status_code == 409, response.content
        detail = response.json()["detail"]
    else:
        assert response.status_code == 302
        detail = messages
    assert detail, "the refusal says why"
    if proposal_status == PS.PENDING and finding_status == FS.SOLVING:
        assert "under way" in detail and "approve or reject revision 1 now" in detail
    if proposal_status == PS.CHANGES_REQUESTED and finding_status in DECIDABLE:
        assert "Changes were already requested" in detail
    if proposal_status == PS.PENDING and finding_status == FS.CLOSED:
        assert "closed" in detail


@pytest.mark.django_db
def test_after_a_failed_re_solve_the_pending_revision_is_approved(tmp_path, reviewer):
    proposal = _world(tmp_path, reviewer, FS.FAILED, PS.PENDING)
    SolveRun.objects.create(
        finding_id=proposal.finding_id, revision=2, status=SolveRun.Status.FAILED
    )
    proposal_decide(
        proposal=proposal,
        actor=reviewer,
        verdict="approve",
        expected_revision=1,
        expected_diff_sha256=proposal.diff_sha256,
    )
    proposal.refresh_from_db()
    assert proposal.status == PS.APPROVED and proposal.branch_name
    assert Finding.objects.get(pk=proposal.finding_id).status == FS.FIXED


@pytest.mark.django_db
def test_a_running_re_solve_is_named_when_changes_are_requested_again(tmp_path, reviewer):
    proposal = _world(tmp_path, reviewer, FS.SOLVING, PS.PENDING)
    run = SolveRun.objects.get(finding_id=proposal.finding_id, status=SolveRun.Status.QUEUED)
    with pytest.raises(DecisionConflict, match=f"run {run.pk}, for revision 2"):
        proposal_decide(
            proposal=proposal, actor=reviewer, verdict="request_changes", comment="and more"
        )
    run.refresh_from_db()
    assert run.status == SolveRun.Status.QUEUED, "a refused decision leaves the re-solve be"
