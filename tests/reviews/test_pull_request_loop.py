"""The whole loop over real wire formats (issue #13 item 4): a repository by URL served by `git
http-backend` (tests/support/git_http.py), a finding, a solve from this machine's mirror, an
approval that pushes the fix branch over smart HTTP, a pull request opened on the fake GitHub
with review requested from the root-cause author's account, the signed webhook saying it was
merged, and the report counting the fix as shipped."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django_q.conf import Conf

from reviews.models import Finding, FixDelivery, Proposal, PullRequest, SolveRun
from reviews.services.decisions import proposal_decide
from reviews.services.ingest import finding_ingest
from reviews.services.repositories import repository_register
from reviews.services.solving import solve_request, solve_run_execute
from tests.fakes.github_api import FakeGitHub
from tests.support.git_http import GitHttpServer

SECRET = "whsec-loop-test"
REPO = "acme/labels"


@pytest.fixture(autouse=True)
def _dirs(settings, tmp_path, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_MIRROR_DIR = tmp_path / "mirrors"
    settings.WATTSON_MIRROR_MAX_AGE_S = 0
    settings.WATTSON_PUBLIC_URL = "https://wattson.example.com"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tasks (the push, the pull request) run where they are queued.
    monkeypatch.setattr(Conf, "SYNC", True)
    monkeypatch.delenv("WATTSON_GIT_CREDENTIALS", raising=False)


def _has_branch(bare: Path, branch: str) -> bool:
    return (
        subprocess.run(
            ["git", "-C", str(bare), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
            capture_output=True,
        ).returncode
        == 0
    )


def test_url_repository_to_shipped_fix(
    scenario,
    settings,
    monkeypatch,
    reviewer,
    client,
    client_for,
    manager,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    built = scenario("label_regex")
    sent = built["finding"]
    root_cause = sent["root_cause"]["commit"]
    with (
        GitHttpServer(tmp_path / "served") as server,
        FakeGitHub(
            users={"ravi-gh": "ravi@example.com"},
            repositories={REPO},
            commits={root_cause: "ravi-gh"},
        ) as github,
    ):
        url = server.serve(built["path"], f"{REPO}.git")
        bare = server.path_of(f"{REPO}.git")
        # GitHub refuses a pull request for a branch it does not have: the push must come first.
        github.branch_exists = lambda repository, branch: _has_branch(bare, branch)
        settings.WATTSON_GITHUB_HOSTS = [urlsplit(server.base_url).netloc]
        settings.WATTSON_GITHUB_API_URL = github.base_url
        monkeypatch.setenv("WATTSON_GITHUB_TOKEN", github.token)
        monkeypatch.setenv("WATTSON_GITHUB_WEBHOOK_SECRET", SECRET)

        repository_register(
            name="labels",
            path=url,
            service_name=sent["service"],
            test_cmd=built["meta"]["test_cmd"],
            bench_cmd=built["meta"]["bench_cmd"],
            branch="main",
        )
        result = finding_ingest(payload={**sent, "repository": "labels"}, actor=None)
        assert not result.errors, result.errors
        finding = Finding.objects.get(pk=result.created[0])
        run = solve_run_execute(run_id=solve_request(finding=finding, actor=None, enqueue=False).pk)
        assert run.status == SolveRun.Status.SUCCEEDED, run.trace

        proposal = Proposal.objects.get(finding=finding, is_current=True)
        with django_capture_on_commit_callbacks(execute=True):
            decision = proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
        proposal.refresh_from_db()

        delivery = FixDelivery.objects.get(decision=decision)
        assert delivery.status == FixDelivery.Status.PUSHED, delivery.last_error
        assert _has_branch(bare, proposal.branch_name)
        pull_request = PullRequest.objects.get(proposal=proposal)
        assert pull_request.status == PullRequest.Status.OPEN, pull_request.last_error
        pull = github.pulls[(REPO, pull_request.number)]
        assert (pull.head, pull.base) == (proposal.branch_name, "main")
        assert pull.requested_reviewers == ["ravi-gh"]
        assert f"https://wattson.example.com/proposals/{proposal.pk}/" in pull.body

        page = client_for(reviewer).get(f"/proposals/{proposal.pk}/").content.decode()
        assert pull_request.url in page and "@ravi-gh" in page

        github.merge(REPO, pull_request.number)
        body, signature = FakeGitHub.signed(
            github.event(REPO, pull_request.number, "closed"), SECRET
        )
        client.logout()
        response = client.post(
            "/hooks/github/",
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signature,
            HTTP_X_GITHUB_EVENT="pull_request",
        )
        assert response.status_code == 200, response.content

    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SHIPPED
    report = client_for(manager).get("/api/v1/reports/savings/").json()
    assert report["shipped"]["count"] == 1
    assert report["shipped"]["watts"] == pytest.approx(proposal.estimated_watts)
    assert report["banked"]["count"] == 1
