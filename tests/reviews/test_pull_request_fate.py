"""A pull request's fate comes back: signed webhooks (GitHub, GitLab) and the poll that stands
in for a lost one. Merged → shipped, closed unmerged → abandoned, reopened → approved again;
the reports count shipped savings apart, and still equal a rebuild of their rollups.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reviews import rollups
from reviews.models import AuditEvent, Finding, Proposal, PullRequest, SavingsWeek
from reviews.reports import ReportFilters, savings_report
from reviews.services.code_hosts.delivery import (
    pull_request_attempt,
    pull_request_queue,
    pull_requests_sweep,
)
from tests.fakes.github_api import FakeGitHub
from tests.fakes.gitlab_api import FakeGitLab
from tests.reviews.code_host_helpers import ROOT_CAUSE, approved_proposal

SECRET = "whsec-test-0123456789"
REPO = "acme/shop"
PROJECT = "platform/shop"


@pytest.fixture
def github(settings, monkeypatch):
    fake = FakeGitHub(users={"alice": "alice@example.com"}, repositories={REPO})
    fake.commits[ROOT_CAUSE] = "alice"
    with fake:
        settings.WATTSON_GITHUB_HOSTS = ["git.example.test"]
        settings.WATTSON_GITHUB_API_URL = fake.base_url
        monkeypatch.setenv("WATTSON_GITHUB_TOKEN", fake.token)
        monkeypatch.setenv("WATTSON_GITHUB_WEBHOOK_SECRET", SECRET)
        yield fake


@pytest.fixture
def gitlab(settings, monkeypatch):
    fake = FakeGitLab(users={"carol": "carol@example.com"}, projects={PROJECT})
    with fake:
        settings.WATTSON_GITLAB_HOSTS = ["gitlab.example.test"]
        settings.WATTSON_GITLAB_URL = fake.origin
        monkeypatch.setenv("WATTSON_GITLAB_TOKEN", fake.token)
        monkeypatch.setenv("WATTSON_GITLAB_WEBHOOK_TOKEN", SECRET)
        yield fake


def _opened(url: str, reviewer) -> tuple[Proposal, PullRequest]:
    proposal = approved_proposal(url=url, reviewer=reviewer)
    pull_request = pull_request_queue(
        proposal=proposal, repository=proposal.finding.repository, branch=proposal.branch_name
    )
    pull_request_attempt(pull_request_id=pull_request.pk)
    pull_request.refresh_from_db()
    assert pull_request.status == PullRequest.Status.OPEN, pull_request.last_error
    return proposal, pull_request


def _github_hook(client, github, number: int, action: str, *, secret: str = SECRET):
    body, signature = FakeGitHub.signed(github.event(REPO, number, action), secret)
    return client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
        HTTP_X_GITHUB_EVENT="pull_request",
        HTTP_X_GITHUB_DELIVERY="72d3162e-cc78-11e3-81ab-4c9367dc0958",
    )


def _statuses(proposal: Proposal) -> tuple[str, str]:
    proposal.refresh_from_db()
    return proposal.status, Finding.objects.get(pk=proposal.finding_id).status


def test_a_merged_pull_request_ships_the_fix(client, github, reviewer):
    proposal, pull_request = _opened("https://git.example.test/acme/shop.git", reviewer)
    github.merge(REPO, pull_request.number)

    response = _github_hook(client, github, pull_request.number, "closed")

    assert response.status_code == 200 and response.json()["changed"] is True
    assert _statuses(proposal) == (Proposal.Status.SHIPPED, Finding.Status.FIXED)
    pull_request.refresh_from_db()
    assert pull_request.status == PullRequest.Status.MERGED
    event = AuditEvent.objects.filter(verb="proposal.status", new_state="shipped").get()
    assert "GitHub webhook" in event.data["reason"]
    # The same delivery again (GitHub retries) changes nothing.
    again = _github_hook(client, github, pull_request.number, "closed")
    assert again.status_code == 200 and again.json()["changed"] is False
    assert AuditEvent.objects.filter(verb="proposal.status", new_state="shipped").count() == 1


def test_closed_unmerged_abandons_and_reopened_approves_again(client, github, reviewer):
    proposal, pull_request = _opened("https://git.example.test/acme/shop.git", reviewer)
    github.close(REPO, pull_request.number)
    assert _github_hook(client, github, pull_request.number, "closed").status_code == 200
    assert _statuses(proposal) == (Proposal.Status.ABANDONED, Finding.Status.CLOSED)

    github.reopen(REPO, pull_request.number)
    assert _github_hook(client, github, pull_request.number, "reopened").status_code == 200
    assert _statuses(proposal) == (Proposal.Status.APPROVED, Finding.Status.FIXED)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),
        ({"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64}, 403),
    ],
)
def test_an_unsigned_or_badly_signed_delivery_is_refused(client, github, reviewer, headers, status):
    proposal, pull_request = _opened("https://git.example.test/acme/shop.git", reviewer)
    github.merge(REPO, pull_request.number)
    body, _ = FakeGitHub.signed(github.event(REPO, pull_request.number, "closed"), SECRET)
    response = client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="pull_request",
        **headers,
    )
    assert response.status_code == status
    assert _statuses(proposal)[0] == Proposal.Status.APPROVED


def test_a_delivery_signed_with_another_secret_is_refused(client, github, reviewer):
    proposal, pull_request = _opened("https://git.example.test/acme/shop.git", reviewer)
    github.merge(REPO, pull_request.number)
    response = _github_hook(client, github, pull_request.number, "closed", secret="guess")
    assert response.status_code == 403
    assert _statuses(proposal)[0] == Proposal.Status.APPROVED


def test_without_a_configured_secret_every_delivery_is_refused(
    client, github, reviewer, monkeypatch
):
    proposal, pull_request = _opened("https://git.example.test/acme/shop.git", reviewer)
    monkeypatch.delenv("WATTSON_GITHUB_WEBHOOK_SECRET")
    github.merge(REPO, pull_request.number)
    response = _github_hook(client, github, pull_request.number, "closed", secret="")
    assert response.status_code == 403
    assert "WATTSON_GITHUB_WEBHOOK_SECRET" in response.json()["error"]


def test_a_webhook_about_another_pull_request_is_acknowledged_and_ignored(db, client, github):
    from tests.fakes.github_api import FakePull

    github.pulls[(REPO, 41)] = FakePull(41, REPO, "feature", "main", "t", "", "eve", "closed")
    response = _github_hook(client, github, 41, "closed")
    assert response.status_code == 200 and response.json()["changed"] is False


def test_gitlab_merge_request_hook_with_its_token(client, gitlab, reviewer):
    proposal, pull_request = _opened("https://gitlab.example.test/platform/shop.git", reviewer)
    gitlab.merge(PROJECT, pull_request.number)
    payload = gitlab.event(PROJECT, pull_request.number, "merge")

    refused = client.post(
        "/hooks/gitlab/",
        data=payload,
        content_type="application/json",
        HTTP_X_GITLAB_EVENT="Merge Request Hook",
        HTTP_X_GITLAB_TOKEN="wrong",
    )
    assert refused.status_code == 403
    response = client.post(
        "/hooks/gitlab/",
        data=payload,
        content_type="application/json",
        HTTP_X_GITLAB_EVENT="Merge Request Hook",
        HTTP_X_GITLAB_TOKEN=SECRET,
    )
    assert response.status_code == 200, response.content
    assert _statuses(proposal) == (Proposal.Status.SHIPPED, Finding.Status.FIXED)


def test_the_poll_catches_a_lost_webhook(github, gitlab, reviewer, settings):
    shipped, gh_request = _opened("https://git.example.test/acme/shop.git", reviewer)
    abandoned, gl_request = _opened("https://gitlab.example.test/platform/shop.git", reviewer)
    github.merge(REPO, gh_request.number)
    gitlab.close(PROJECT, gl_request.number)

    assert pull_requests_sweep()["moved"] == []  # both were checked just now
    PullRequest.objects.update(
        last_checked_at=timezone.now() - dt.timedelta(seconds=settings.WATTSON_PR_POLL_S + 1)
    )
    assert sorted(pull_requests_sweep()["moved"]) == sorted([gh_request.pk, gl_request.pk])
    assert _statuses(shipped)[0] == Proposal.Status.SHIPPED
    assert _statuses(abandoned)[0] == Proposal.Status.ABANDONED


def test_reports_split_banked_into_approved_and_shipped(github, reviewer, manager):
    shipped, pull_request = _opened("https://git.example.test/acme/shop.git", reviewer)
    still_approved = approved_proposal(
        url="https://git.example.test/acme/shop.git", reviewer=reviewer
    )
    lost = approved_proposal(url="https://git.example.test/acme/shop.git", reviewer=reviewer)
    github.merge(REPO, pull_request.number)
    from reviews.services.code_hosts.delivery import pull_request_record_fate

    pull_request_record_fate(pull_request=pull_request, state="merged", via="test")
    abandoned_pr = PullRequest.objects.create(
        proposal=lost,
        host="github",
        api_url=github.base_url,
        project=REPO,
        branch="b",
        base_branch="main",
        status=PullRequest.Status.OPEN,
        number=99,
    )
    pull_request_record_fate(pull_request=abandoned_pr, state="closed", via="test")

    report = savings_report(user=manager, filters=ReportFilters())
    assert report.banked.count == 2  # approved and shipped
    assert report.shipped.count == 1
    assert report.shipped.watts == pytest.approx(shipped.estimated_watts)
    assert report.banked.watts == pytest.approx(
        shipped.estimated_watts + still_approved.estimated_watts
    )
    assert report.lost.count == 1 and report.lost.watts == pytest.approx(lost.estimated_watts)
    assert report.funnel["approved"] == 3  # a person approved all three

    live = sorted(SavingsWeek.objects.values_list("status", "proposals", "watts"))
    rollups.rebuild()
    assert sorted(SavingsWeek.objects.values_list("status", "proposals", "watts")) == live


def test_the_reports_page_and_api_show_shipped(client_for, github, reviewer, manager):
    _, pull_request = _opened("https://git.example.test/acme/shop.git", reviewer)
    from reviews.services.code_hosts.delivery import pull_request_record_fate

    pull_request_record_fate(pull_request=pull_request, state="merged", via="test")
    client = client_for(manager)
    page = client.get("/reports/")
    assert page.status_code == 200
    assert 'data-testid="shipped-watts"' in page.content.decode()
    api = client.get("/api/v1/reports/savings/").json()
    assert api["shipped"]["count"] == 1 and api["banked"]["count"] == 1
