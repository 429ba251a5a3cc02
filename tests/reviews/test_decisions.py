"""The review gate's rules: who may decide, pinning, self-approval, veto, override, audit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from reviews.models import AuditEvent, Decision, Finding, Proposal, SolveRun
from reviews.roles import REVIEWER
from reviews.services.decisions import (
    DecisionConflict,
    DecisionForbidden,
    DecisionInvalid,
    proposal_decide,
)
from tests.conftest import PASSWORD
from tests.reviews.gate_helpers import fix_branches, make_proposal, make_repo
from tests.skills.test_repo_lock import HOLDER


@pytest.fixture(autouse=True)
def _work_dir(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    # Personas are created with passwords; the default hasher costs ~0.5 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


@pytest.fixture
def proposal(repo, reviewer):
    return make_proposal(repo=repo, assignee=reviewer)


def _pins(proposal: Proposal) -> dict:
    return {"revision": proposal.revision, "diff_sha256": proposal.diff_sha256}


def _message(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


# --- who may decide ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["manager", "outsider"])
def test_managers_and_outsiders_cannot_decide(request, proposal, repo, persona, client_for):
    user = request.getfixturevalue(persona)
    with pytest.raises(DecisionForbidden):
        proposal_decide(proposal=proposal, actor=user, verdict="approve")

    client = client_for(user)
    for name in ("proposal_approve", "proposal_reject", "proposal_request_changes"):
        response = client.post(
            reverse(f"reviews:{name}", args=[proposal.pk]),
            {**_pins(proposal), "reason": "incorrect", "comment": "no"},
        )
        assert response.status_code == 403
    api = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {"verdict": "approve", **_pins(proposal)},
        content_type="application/json",
    )
    assert api.status_code == 403

    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING
    assert not Decision.objects.exists()
    assert fix_branches(repo) == []


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_and_api_refuses(client, proposal):
    response = client.post(reverse("reviews:proposal_approve", args=[proposal.pk]), _pins(proposal))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    # Back to the proposal page after login, never to the POST-only action URL (a 405).
    proposal_page = reverse("reviews:proposal", args=[proposal.pk])
    assert parse_qs(urlsplit(response["Location"]).query)["next"] == [f"{proposal_page}?expired=1"]
    api = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {"verdict": "approve", **_pins(proposal)},
        content_type="application/json",
    )
    assert api.status_code in (401, 403)
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_expired_session_decision_returns_to_the_proposal_with_its_note(client, reviewer, proposal):
    reject = reverse("reviews:proposal_reject", args=[proposal.pk])
    expired = client.post(reject, {**_pins(proposal), "reason": "wrong"}, follow=True)
    login_page = expired.content.decode()
    assert "Your session expired; nothing was decided." in login_page
    next_url = expired.context["next"]
    assert next_url == reverse("reviews:proposal", args=[proposal.pk]) + "?expired=1"
    back = client.post(
        reverse("login"),
        {"username": reviewer.username, "password": PASSWORD, "next": next_url},
        follow=True,
    )
    assert back.status_code == 200
    assert back.redirect_chain[-1][0] == next_url
    page = back.content.decode()
    assert "Your session expired; nothing was decided. Log in and decide again." in page
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_get_on_a_decision_endpoint_is_not_allowed(client_for, reviewer, proposal):
    response = client_for(reviewer).get(reverse("reviews:proposal_approve", args=[proposal.pk]))
    assert response.status_code == 405
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_superuser_can_decide(django_user_model, proposal):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-unused-123")
    decision = proposal_decide(
        proposal=proposal, actor=admin, verdict="reject", reason="duplicate", comment="see #1"
    )
    assert decision.verdict == "reject"


@pytest.mark.django_db
def test_solver_account_can_never_approve(settings, django_user_model, proposal):
    bot = django_user_model.objects.create_user(settings.WATTSON_BOT_USERNAME)
    bot.groups.add(Group.objects.get_or_create(name=REVIEWER)[0])
    with pytest.raises(DecisionForbidden, match="solver"):
        proposal_decide(proposal=proposal, actor=bot, verdict="approve")
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PENDING


# --- approve / reject / request changes ------------------------------------------------------


@pytest.mark.django_db
def test_reviewer_approves_through_the_page(client_for, reviewer, proposal, repo):
    response = client_for(reviewer).post(
        reverse("reviews:proposal_approve", args=[proposal.pk]), _pins(proposal)
    )
    assert response.status_code == 302
    assert "Approved revision 1" in _message(response)
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.APPROVED
    assert proposal.decided_at is not None
    assert Finding.objects.get(pk=proposal.finding_id).status == Finding.Status.FIXED
    decision = Decision.objects.get()
    assert (decision.reviewer, decision.verdict, decision.revision) == (reviewer, "approve", 1)
    assert decision.diff_sha256 == proposal.diff_sha256
    assert decision.base_commit == proposal.base_commit
    assert fix_branches(repo) == [f"wattson/{proposal.finding_id}-r1"]


@pytest.mark.django_db
def test_reject_needs_a_reason_and_moves_the_finding(reviewer, proposal):
    with pytest.raises(DecisionInvalid, match="reason"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="reject", comment="meh")
    with pytest.raises(DecisionInvalid, match="reason"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="reject", reason="bogus")
    with pytest.raises(DecisionInvalid, match="comment"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="reject", reason="other")
    decision = proposal_decide(
        proposal=proposal,
        actor=reviewer,
        verdict="reject",
        reason="not_root_cause",
        comment="The slowdown is in mean(), not total().",
    )
    assert decision.reason == "not_root_cause"
    assert decision.comment == "The slowdown is in mean(), not total()."
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.REJECTED
    assert Finding.objects.get(pk=proposal.finding_id).status == Finding.Status.REJECTED


@pytest.mark.django_db
def test_request_changes_resolves_with_the_comment_as_revision_two(reviewer, proposal):
    with pytest.raises(DecisionInvalid, match="comment"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="request_changes")
    comment = "Keep the loop but hoist the attribute lookup."
    proposal_decide(proposal=proposal, actor=reviewer, verdict="request_changes", comment=comment)
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.CHANGES_REQUESTED
    assert Finding.objects.get(pk=proposal.finding_id).status == Finding.Status.SOLVING
    run = SolveRun.objects.filter(finding_id=proposal.finding_id).order_by("-id").first()
    assert run.revision == 2
    assert run.reviewer_comment == comment
    assert run.status == SolveRun.Status.QUEUED


@pytest.mark.django_db
def test_every_decision_and_state_change_is_audited(reviewer, proposal):
    proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    events = AuditEvent.objects.filter(actor=reviewer)
    verbs = {(e.verb, e.old_state, e.new_state) for e in events}
    assert ("decision.approve", "pending", "approved") in verbs
    assert ("proposal.status", "pending", "approved") in verbs
    assert ("finding.status", "in_review", "fixed") in verbs
    decision_event = events.get(verb="decision.approve")
    assert decision_event.data["branch"] == f"wattson/{proposal.finding_id}-r1"
    assert decision_event.data["diff_sha256"] == proposal.diff_sha256


# --- pinning -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_decision_on_a_changed_diff_is_a_conflict(client_for, reviewer, proposal, repo):
    seen_sha = proposal.diff_sha256
    # Someone edits the proposal after the reviewer opened it.
    edited = proposal.diff.replace("return sum(values)", "return sum(values) + 0")
    Proposal.objects.filter(pk=proposal.pk).update(
        diff=edited, diff_sha256="e" * 64, edited_by=None
    )
    response = client_for(reviewer).post(
        reverse("reviews:proposal_approve", args=[proposal.pk]),
        {"revision": 1, "diff_sha256": seen_sha},
    )
    assert response.status_code == 302
    assert "changed since you opened it" in _message(response)
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PENDING
    assert not Decision.objects.exists()
    assert fix_branches(repo) == []


@pytest.mark.django_db
def test_wrong_revision_is_a_conflict_and_missing_pins_are_bad_requests(
    client_for, reviewer, proposal
):
    with pytest.raises(DecisionConflict, match="changed since you opened it"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="approve", expected_revision=2)
    client = client_for(reviewer)
    response = client.post(reverse("reviews:proposal_approve", args=[proposal.pk]), {})
    assert response.status_code == 400
    api = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {"verdict": "approve", "revision": 1, "diff_sha256": "0" * 64},
        content_type="application/json",
    )
    assert api.status_code == 409
    assert "changed since you opened it" in api.json()["detail"]
    assert not Decision.objects.exists()


# --- self-approval ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["requested_by", "run_requested_by", "edited_by"])
def test_requester_or_editor_cannot_approve(repo, reviewer, reviewer2, role, client_for):
    proposal = make_proposal(repo=repo, **{role: reviewer})
    with pytest.raises(DecisionForbidden, match="another reviewer"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    response = client_for(reviewer).post(
        reverse("reviews:proposal_approve", args=[proposal.pk]), _pins(proposal)
    )
    assert response.status_code == 403
    assert fix_branches(repo) == []
    # They may still reject their own request; another reviewer may approve.
    proposal_decide(proposal=proposal, actor=reviewer2, verdict="approve")
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.APPROVED


# --- veto and override -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rejection_vetoes_a_later_approval(reviewer, reviewer2, proposal, repo):
    proposal_decide(
        proposal=proposal, actor=reviewer, verdict="reject", reason="unsafe", comment="races"
    )
    with pytest.raises(DecisionConflict, match="already decided by rita"):
        proposal_decide(proposal=proposal, actor=reviewer2, verdict="approve")
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.REJECTED
    assert Decision.objects.count() == 1
    assert fix_branches(repo) == []


@pytest.mark.django_db
@pytest.mark.parametrize("failed", [{"applies": False}, {"tests_passed": False}])
def test_failed_validation_needs_a_skill_admin_override(repo, reviewer, skill_admin, failed):
    proposal = make_proposal(repo=repo, **failed)
    with pytest.raises(DecisionForbidden, match="skill-admin"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    with pytest.raises(DecisionInvalid, match="override reason"):
        proposal_decide(proposal=proposal, actor=skill_admin, verdict="approve")
    decision = proposal_decide(
        proposal=proposal,
        actor=skill_admin,
        verdict="approve",
        override_reason="The test runner was broken; verified by hand.",
    )
    assert decision.is_override
    assert decision.override_reason == "The test runner was broken; verified by hand."
    event = AuditEvent.objects.get(verb="decision.approve")
    assert event.data["is_override"] is True
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.APPROVED


@pytest.mark.django_db
def test_a_normal_approval_is_not_an_override(reviewer, proposal):
    decision = proposal_decide(
        proposal=proposal, actor=reviewer, verdict="approve", override_reason="not needed"
    )
    assert not decision.is_override
    assert decision.override_reason == ""


# --- API -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_reads_a_proposal_and_records_a_decision(client_for, reviewer, manager, proposal):
    read = client_for(manager).get(f"/api/v1/proposals/{proposal.pk}/")
    assert read.status_code == 200
    body = read.json()
    assert body["revision"] == 1
    assert body["status"] == "pending"
    assert body["diff_sha256"] == proposal.diff_sha256
    assert body["validation"]["applies"] is True
    assert body["validation"]["measured_recovery"] == proposal.measured_recovery
    assert "bench_parent_s" in body["validation"]

    client = client_for(reviewer)
    bad = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {"verdict": "reject", **_pins(proposal)},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "reason" in bad.json()["detail"]
    made = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {
            "verdict": "reject",
            "reason": "readability",
            "comment": "hard to follow",
            **_pins(proposal),
        },
        content_type="application/json",
    )
    assert made.status_code == 201
    assert made.json()["status"] == "rejected"
    assert made.json()["decision"]["reviewer"] == "rita"
    again = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {"verdict": "approve", **_pins(proposal)},
        content_type="application/json",
    )
    assert again.status_code == 409
    assert client.get("/api/v1/proposals/999999/").status_code == 404


@pytest.mark.django_db
def test_outsider_cannot_read_a_proposal_over_the_api(client_for, outsider, proposal):
    assert client_for(outsider).get(f"/api/v1/proposals/{proposal.pk}/").status_code == 403


# --- CLI -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_decide_command_records_and_prints_json(capsys, reviewer, proposal, repo):
    call_command("decide", str(proposal.pk), "approve", "--user", "rita", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["proposal"] == proposal.pk
    assert out["status"] == "approved"
    assert out["decision"]["verdict"] == "approve"
    assert out["decision"]["branch"] == f"wattson/{proposal.finding_id}-r1"
    assert fix_branches(repo) == [out["decision"]["branch"]]


@pytest.mark.django_db
def test_decide_command_exit_codes(reviewer, manager, proposal):
    with pytest.raises(CommandError) as refused:
        call_command("decide", str(proposal.pk), "approve", "--user", "mona")
    assert refused.value.returncode == 1
    assert "Only reviewers" in str(refused.value)
    with pytest.raises(CommandError) as unknown_user:
        call_command("decide", str(proposal.pk), "approve", "--user", "nobody")
    assert unknown_user.value.returncode == 2
    with pytest.raises(CommandError) as missing_reason:
        call_command("decide", str(proposal.pk), "reject", "--user", "rita")
    assert missing_reason.value.returncode == 2
    with pytest.raises(CommandError) as no_proposal:
        call_command("decide", "999999", "approve", "--user", "rita")
    assert no_proposal.value.returncode == 2
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PENDING


# --- My reviews --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_my_reviews_lists_what_is_assigned_to_me(client_for, reviewer, reviewer2, repo):
    mine = make_proposal(repo=repo, assignee=reviewer)
    theirs = make_proposal(repo=repo, assignee=reviewer2)
    decided = make_proposal(repo=repo, assignee=reviewer)
    Proposal.objects.filter(pk=decided.pk).update(status=Proposal.Status.REJECTED)
    client = client_for(reviewer)
    page = client.get(reverse("reviews:my_reviews"))
    assert page.status_code == 200
    shown = [p.pk for p in page.context["proposals"]]
    assert shown == [mine.pk]
    assert reverse("reviews:proposal", args=[mine.pk]) in page.content.decode()
    everything = client.get(reverse("reviews:my_reviews") + "?tab=all")
    assert sorted(p.pk for p in everything.context["proposals"]) == sorted([mine.pk, theirs.pk])


@pytest.mark.django_db
def test_my_reviews_needs_a_role(client, client_for, outsider):
    assert client.get(reverse("reviews:my_reviews")).status_code == 302
    assert client_for(outsider).get(reverse("reviews:my_reviews")).status_code == 403


def _form_html(proposal: Proposal, user) -> str:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from reviews.roles import user_roles

    request = RequestFactory().get("/")
    request.user = user
    return render_to_string(
        "reviews/_decision_form.html",
        {"proposal": proposal, "roles": user_roles(user), "user": user},
        request=request,
    )


@pytest.mark.django_db
def test_decision_form_shows_each_reader_what_they_may_do(
    repo, reviewer, reviewer2, manager, skill_admin
):
    proposal = make_proposal(repo=repo, requested_by=reviewer2)
    html = _form_html(proposal, reviewer)
    assert 'id="approve-button"' in html
    assert f'name="diff_sha256" value="{proposal.diff_sha256}"' in html
    assert 'name="revision" value="1"' in html
    assert 'id="reject-button"' in html and 'id="changes-button"' in html

    assert "another reviewer must approve" in _form_html(proposal, reviewer2)
    assert 'id="approve-button"' not in _form_html(proposal, reviewer2)

    as_manager = _form_html(proposal, manager)
    assert "your role can read them" in as_manager
    assert "<form" not in as_manager
    assert "Download as a patch" in as_manager

    failed = make_proposal(repo=repo, tests_passed=False)
    assert 'name="override_reason"' in _form_html(failed, skill_admin)
    as_reviewer = _form_html(failed, reviewer)
    assert "only a skill-admin can approve" in as_reviewer
    assert 'id="approve-button"' not in as_reviewer


def test_decide_command_bad_usage_exits_2(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT_DIR

    result = subprocess.run(
        [sys.executable, "manage.py", "decide", "1", "merge", "--user", "rita"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WATTSON_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "invalid choice: 'merge'" in result.stderr
    assert result.stdout == ""


@pytest.mark.django_db
def test_approving_while_a_worker_holds_the_repository_says_it_is_busy(
    proposal, repo, reviewer, client_for, settings
):
    settings.WATTSON_PAGE_GIT_TIMEOUT_S = 0.5
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(Path(repo) / ".git")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"  # a worker's fetch, say
        response = client_for(reviewer).post(
            reverse("reviews:proposal_approve", args=[proposal.pk]), _pins(proposal)
        )
        # The person is not kept waiting for the worker: told, and nothing is half-done.
        assert response.status_code == 302
        assert "is busy" in _message(response) and "try again" in _message(response)
        proposal.refresh_from_db()
        assert proposal.status == Proposal.Status.PENDING
        assert not Decision.objects.exists()
        assert fix_branches(repo) == []
    finally:
        holder.kill()
        holder.wait()
    # Once the worker lets go, the same approval goes through.
    decision = proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    assert decision.verdict == "approve" and len(fix_branches(repo)) == 1
