"""Approved fixes become pull / merge requests on the code host, over the hosts' real wire
formats (tests/fakes/github_api.py, gitlab_api.py), and a host failure never undoes an approval.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from reviews.models import AuditEvent, Proposal, PullRequest
from reviews.services.code_hosts.delivery import (
    pull_request_attempt,
    pull_request_queue,
    pull_request_retry,
    pull_requests_sweep,
)
from reviews.services.code_hosts.hosts import GITHUB, GITLAB, host_for_url
from tests.fakes.github_api import FakeGitHub, FakePull
from tests.fakes.gitlab_api import FakeGitLab
from tests.reviews.code_host_helpers import ROOT_CAUSE, approved_proposal

GH_HOST = "git.example.test"
REPO = "acme/shop"


@pytest.fixture
def github(settings, monkeypatch):
    fake = FakeGitHub(
        users={"alice": "alice@example.com", "bob": "bob@example.com"},
        repositories={REPO},
        commits={ROOT_CAUSE: "alice"},
    )
    with fake:
        settings.WATTSON_GITHUB_HOSTS = [GH_HOST]
        settings.WATTSON_GITHUB_API_URL = fake.base_url
        monkeypatch.setenv("WATTSON_GITHUB_TOKEN", fake.token)
        yield fake


@pytest.fixture
def gitlab(settings, monkeypatch):
    fake = FakeGitLab(users={"carol": "carol@example.com"}, projects={"platform/billing/shop"})
    with fake:
        settings.WATTSON_GITLAB_HOSTS = ["gitlab.example.test"]
        settings.WATTSON_GITLAB_URL = fake.origin
        monkeypatch.setenv("WATTSON_GITLAB_TOKEN", fake.token)
        yield fake


def _queue(proposal: Proposal) -> PullRequest:
    repository = proposal.finding.repository
    pull_request = pull_request_queue(
        proposal=proposal, repository=repository, branch=proposal.branch_name
    )
    assert pull_request is not None
    return pull_request


def _open_github(github, reviewer, **kwargs) -> tuple[Proposal, PullRequest]:
    proposal = approved_proposal(url=f"https://{GH_HOST}/{REPO}.git", reviewer=reviewer, **kwargs)
    pull_request = _queue(proposal)
    pull_request_attempt(pull_request_id=pull_request.pk)
    pull_request.refresh_from_db()
    return proposal, pull_request


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/shop.git", (GITHUB, "https://api.github.com", "acme/shop")),
        ("git@github.com:acme/shop.git", (GITHUB, "https://api.github.com", "acme/shop")),
        ("ssh://git@github.com/acme/shop", (GITHUB, "https://api.github.com", "acme/shop")),
        (
            "https://gitlab.com/platform/billing/shop.git",
            (GITLAB, "https://gitlab.com", "platform/billing/shop"),
        ),
        ("http://127.0.0.1:9999/acme/shop.git", (GITHUB, "http://fake/api/v3", "acme/shop")),
        ("/srv/git/shop", None),
        ("file:///srv/git/shop.git", None),
        ("https://git.unknown.test/acme/shop.git", None),
        ("https://github.com/acme/shop/extra.git", None),
        ("https://gitlab.example.test/a/b", (GITLAB, "https://gitlab.example.test", "a/b")),
    ],
)
def test_the_host_is_read_from_the_repository_url(settings, url, expected):
    settings.WATTSON_GITHUB_HOSTS = ["127.0.0.1:9999"]
    settings.WATTSON_GITHUB_API_URL = "http://fake/api/v3"
    settings.WATTSON_GITLAB_HOSTS = ["gitlab.example.test"]
    target = host_for_url(url)
    assert (target and (target.host, target.api_url, target.project)) == expected


def test_approval_opens_a_pull_request_asking_the_root_cause_author_to_review(
    github, reviewer, settings
):
    settings.WATTSON_PUBLIC_URL = "https://wattson.example.com"
    proposal, pull_request = _open_github(github, reviewer)

    assert pull_request.status == PullRequest.Status.OPEN
    assert pull_request.number == 1
    assert pull_request.url == f"{github.origin}/{REPO}/pull/1"
    assert pull_request.reviewer_login == "alice"
    pull = github.pulls[(REPO, 1)]
    assert (pull.head, pull.base) == (proposal.branch_name, "main")
    assert pull.title == "Cache the parsed tariff"
    assert pull.requested_reviewers == ["alice"]
    # The body carries the rationale, the measurements, the savings and the link back.
    assert "re-parsed the tariff table" in pull.body
    assert "| benchmark before | 2 s |" in pull.body and "| speed-up | 1.60× |" in pull.body
    assert "900 W" in pull.body and "810 W" in pull.body and "$" in pull.body
    assert "@alice" in pull.body and "c0ffee000000" in pull.body
    assert f"https://wattson.example.com/proposals/{proposal.pk}/" in pull.body
    # The author's login came from the commit GitHub linked to her account.
    assert github.calls("GET", f"/repos/{REPO}/commits/{ROOT_CAUSE}")
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.APPROVED
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"pull_request.queued", "pullrequest.status"} <= verbs


def test_an_unlinked_commit_author_is_found_by_email(github, reviewer):
    github.commits[ROOT_CAUSE] = None
    _, pull_request = _open_github(github, reviewer, author_email="bob@example.com")
    assert pull_request.reviewer_login == "bob"
    assert github.pulls[(REPO, 1)].requested_reviewers == ["bob"]
    search = github.calls("GET", "/search/users")
    assert search and search[0].query["q"] == "bob@example.com in:email"


def test_without_a_matching_user_the_author_is_named_in_the_body(github, reviewer):
    github.commits[ROOT_CAUSE] = None
    _, pull_request = _open_github(github, reviewer, author_email="dora@example.com")
    pull = github.pulls[(REPO, 1)]
    assert pull_request.status == PullRequest.Status.OPEN
    assert pull_request.reviewer_login == ""
    assert "dora@example.com" in pull.body and pull.requested_reviewers == []
    assert not github.calls("POST", f"/repos/{REPO}/pulls/1/requested_reviewers")


def test_a_duplicate_pull_request_links_the_one_already_open(github, reviewer):
    proposal = approved_proposal(url=f"https://{GH_HOST}/{REPO}.git", reviewer=reviewer)
    # Someone opened one by hand (or our answer was lost after GitHub made it): 422.
    github.pulls[(REPO, 7)] = FakePull(7, REPO, proposal.branch_name, "main", "t", "b", "eve")
    pull_request = _queue(proposal)
    pull_request_attempt(pull_request_id=pull_request.pk)
    pull_request.refresh_from_db()

    assert pull_request.status == PullRequest.Status.OPEN
    assert pull_request.number == 7
    assert [c.status for c in github.calls("POST", f"/repos/{REPO}/pulls")] == [422]
    assert len(github.pulls) == 1


def test_a_rate_limit_is_retried_after_the_reset_and_the_approval_stands(github, reviewer):
    github.rate_limited("POST", f"/repos/{REPO}/pulls", reset_in=120)
    proposal, pull_request = _open_github(github, reviewer)

    assert pull_request.status == PullRequest.Status.QUEUED
    assert "403" in pull_request.last_error and "rate limit" in pull_request.last_error
    wait = (pull_request.next_attempt_at - timezone.now()).total_seconds()
    assert 100 < wait <= 121
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.APPROVED
    assert AuditEvent.objects.filter(verb="pull_request.attempt_failed").exists()

    assert pull_requests_sweep()["attempted"] == []  # not due yet
    PullRequest.objects.filter(pk=pull_request.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert pull_requests_sweep()["attempted"] == [pull_request.pk]
    pull_request.refresh_from_db()
    assert pull_request.status == PullRequest.Status.OPEN
    assert pull_request.attempts == 2 and pull_request.last_error == ""


def test_a_forbidden_answer_is_reported_and_a_retry_later_works(github, reviewer):
    github.fail_next(
        "POST",
        f"/repos/{REPO}/pulls",
        403,
        {"message": "Resource not accessible by integration"},
    )
    _, pull_request = _open_github(github, reviewer)
    assert pull_request.status == PullRequest.Status.FAILED
    assert "Resource not accessible by integration" in pull_request.last_error

    pull_request_retry(pull_request=pull_request, actor=reviewer)
    pull_request_attempt(pull_request_id=pull_request.pk)
    pull_request.refresh_from_db()
    assert pull_request.status == PullRequest.Status.OPEN


def test_without_a_token_it_fails_naming_the_variable(github, reviewer, monkeypatch):
    monkeypatch.delenv("WATTSON_GITHUB_TOKEN")
    _, pull_request = _open_github(github, reviewer)
    assert pull_request.status == PullRequest.Status.FAILED
    assert "WATTSON_GITHUB_TOKEN is not set" in pull_request.last_error
    assert github.requests == []


def test_bad_credentials_never_leak_the_token(github, reviewer, monkeypatch):
    monkeypatch.setenv("WATTSON_GITHUB_TOKEN", "ghp_CANARY_wrong_token")
    _, pull_request = _open_github(github, reviewer)
    assert pull_request.status == PullRequest.Status.FAILED
    assert "401" in pull_request.last_error and "Bad credentials" in pull_request.last_error
    events = list(AuditEvent.objects.values_list("data", flat=True))
    assert "CANARY" not in str(events) + pull_request.last_error


def test_a_repository_on_no_known_host_gets_no_pull_request(reviewer):
    proposal = approved_proposal(url="file:///srv/git/shop.git", reviewer=reviewer)
    assert (
        pull_request_queue(proposal=proposal, repository=proposal.finding.repository, branch="b")
        is None
    )
    assert not PullRequest.objects.exists()


def test_gitlab_merge_request_with_reviewer_and_duplicate(gitlab, reviewer):
    proposal = approved_proposal(
        url="git@gitlab.example.test:platform/billing/shop.git",
        reviewer=reviewer,
        author_email="carol@example.com",
    )
    pull_request = _queue(proposal)
    assert (pull_request.host, pull_request.project) == (GITLAB, "platform/billing/shop")
    pull_request_attempt(pull_request_id=pull_request.pk)
    pull_request.refresh_from_db()

    mr = gitlab.merge_requests[("platform/billing/shop", 1)]
    assert pull_request.status == PullRequest.Status.OPEN
    assert pull_request.url.endswith("/platform/billing/shop/-/merge_requests/1")
    assert mr.reviewer_ids == [gitlab.user_ids["carol"]]
    assert "@carol" in mr.description and "merge request" in mr.description
    # The project is named by its URL-encoded path, as GitLab requires.
    assert gitlab.calls("POST", "/projects/platform%2Fbilling%2Fshop/merge_requests")

    # The same branch again (a lost answer, a retry): GitLab says 409, the open one is linked.
    again = approved_proposal(
        url="git@gitlab.example.test:platform/billing/shop.git", reviewer=reviewer
    )
    PullRequest.objects.create(
        proposal=again,
        host=GITLAB,
        api_url=gitlab.origin,
        project="platform/billing/shop",
        branch=proposal.branch_name,
        base_branch="main",
    )
    second = PullRequest.objects.get(proposal=again)
    pull_request_attempt(pull_request_id=second.pk)
    second.refresh_from_db()
    assert second.status == PullRequest.Status.OPEN and second.number == 1


def test_gitlab_rate_limit_honours_retry_after(gitlab, reviewer):
    gitlab.rate_limited("POST", "/projects/[^/]+/merge_requests", retry_after=45)
    proposal = approved_proposal(
        url="https://gitlab.example.test/platform/billing/shop.git", reviewer=reviewer
    )
    pull_request = _queue(proposal)
    pull_request_attempt(pull_request_id=pull_request.pk)
    pull_request.refresh_from_db()
    assert pull_request.status == PullRequest.Status.QUEUED
    assert "429" in pull_request.last_error
    wait = (pull_request.next_attempt_at - timezone.now()).total_seconds()
    assert 40 < wait <= 46


def test_the_fakes_paginate_as_the_hosts_do(github, gitlab):
    """PyGithub and python-gitlab follow the fakes' Link headers page by page."""
    import gitlab as gitlab_client
    from github import Auth, Github

    for n in range(1, 36):
        github.pulls[(REPO, n)] = FakePull(n, REPO, f"b{n}", "main", "t", "", "eve")
    client = Github(auth=Auth.Token(github.token), base_url=github.base_url, per_page=10, lazy=True)
    numbers = [p.number for p in client.get_repo(REPO).get_pulls(state="open")]
    assert numbers == list(range(1, 36))
    assert len(github.calls("GET", f"/repos/{REPO}/pulls")) == 4

    gitlab.users.update({f"user{n}": f"u{n}@example.com" for n in range(25)})
    gitlab.user_ids.update({f"user{n}": 500 + n for n in range(25)})
    gl = gitlab_client.Gitlab(gitlab.origin, private_token=gitlab.token, per_page=10)
    names = [u.username for u in gl.users.list(search="user", iterator=True)]
    assert len(names) == 25
    assert len(gitlab.calls("GET", "/users")) == 3


def test_a_failed_pull_request_is_shown_on_the_proposal_and_a_reviewer_retries_it(
    github, reviewer, manager, client_for, monkeypatch
):
    monkeypatch.delenv("WATTSON_GITHUB_TOKEN")
    proposal, pull_request = _open_github(github, reviewer)
    page = client_for(manager).get(f"/proposals/{proposal.pk}/").content.decode()
    assert "could not be opened" in page and "WATTSON_GITHUB_TOKEN is not set" in page
    assert "pull-request-retry" not in page  # managers read only
    retry_url = f"/proposals/{proposal.pk}/pull-request/retry/"
    assert client_for(manager).post(retry_url).status_code == 403

    monkeypatch.setenv("WATTSON_GITHUB_TOKEN", github.token)
    reviewer_page = client_for(reviewer).get(f"/proposals/{proposal.pk}/").content.decode()
    assert "pull-request-retry" in reviewer_page
    response = client_for(reviewer).post(retry_url)
    assert response.status_code == 302
    pull_request.refresh_from_db()
    assert pull_request.status == PullRequest.Status.QUEUED
    pull_request_attempt(pull_request_id=pull_request.pk)
    pull_request.refresh_from_db()
    assert pull_request.status == PullRequest.Status.OPEN
    page = client_for(reviewer).get(f"/proposals/{proposal.pk}/").content.decode()
    assert pull_request.url in page and "@alice" in page
