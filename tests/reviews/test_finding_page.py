"""The finding page: fields, evidence, functions, root-cause commit, proposals, runs, history."""

from __future__ import annotations

import subprocess

import pytest
from django.utils.html import escape

from reviews.models import AuditEvent, Finding, Proposal, Repository, Service, SolveRun


@pytest.fixture
def service(db) -> Service:
    return Service.objects.create(name="feed", team="catalog")


def make_finding(service: Service, **fields) -> Finding:
    values = {
        "kind": Finding.Kind.REGRESSION,
        "source": "perf-detector",
        "external_id": "det-1",
        "payload_sha256": "0" * 64,
        "title": "parse_sku got slower",
        "metric": "cpu",
        "magnitude_pct": 4.5,
        "baseline": 10.0,
        "current": 14.5,
        "confidence": 0.9,
        "functions": [
            {
                "symbol": "feed.skus.parse_sku",
                "file": "feed/skus.py",
                "line": 12,
                "cpu_share_pct": 7.5,
            }
        ],
        "evidence": {"profile": "flame-123", "note": "<b>hot</b>"},
        "estimated_watts": 2345.0,
    }
    values.update(fields)
    return Finding.objects.create(service=service, **values)


def git_show(path, sha: str) -> tuple[str, str]:
    out = subprocess.run(
        ["git", "-C", str(path), "log", "-1", "--format=%an%x00%s", sha],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    author, subject = out.strip().split("\x00")
    return author, subject


def page(client, finding: Finding) -> str:
    response = client.get(f"/findings/{finding.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_is_sent_to_login(client, service):
    finding = make_finding(service)
    response = client.get(f"/findings/{finding.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_outsider_gets_403_without_any_detail(client_for, outsider, service):
    finding = make_finding(service)
    response = client_for(outsider).get(f"/findings/{finding.pk}/")
    assert response.status_code == 403
    assert b"parse_sku got slower" not in response.content


def test_unknown_finding_is_404(client_for, reviewer):
    assert client_for(reviewer).get("/findings/987654/").status_code == 404


def test_shows_fields_functions_and_escaped_evidence(client_for, manager, service, reviewer):
    finding = make_finding(service, assignee=reviewer, pattern="precompile-regex")
    text = page(client_for(manager), finding)
    for expected in (
        "parse_sku got slower",
        "feed",
        "catalog",
        "perf-detector",
        "det-1",
        "4.50%",
        "2.3 kW",
        "feed.skus.parse_sku",
        "feed/skus.py",
        "7.5%",
        "precompile-regex",
        "rita",
        "flame-123",
    ):
        assert expected in text, expected
    assert "<b>hot</b>" not in text
    assert "&lt;b&gt;hot&lt;/b&gt;" in text
    assert "Request fix" in text or 'id="solve-panel"' in text


def test_root_cause_commit_message_and_diff_from_git(client_for, reviewer, service, scenario):
    built = scenario("label_regex")
    sent = built["finding"]
    repository = Repository.objects.create(name="labels", path=str(built["path"]))
    finding = make_finding(
        service,
        repository=repository,
        root_cause_commit=sent["root_cause"]["commit"],
        root_cause_author=sent["root_cause"]["author"],
        root_cause_url="javascript:alert(1)",
    )
    text = page(client_for(reviewer), finding)
    author, subject = git_show(built["path"], sent["root_cause"]["commit"])
    assert author in text
    assert escape(subject) in text
    assert 'class="dl dl-add">+' in text
    assert 'class="dl dl-del">-' in text
    assert "shipping/labels.py" in text  # the root-cause commit's file, read from git
    # A detector-sent link is only shown when it is http(s).
    assert "javascript:alert" not in text


def test_root_cause_via_the_service_repository(client_for, reviewer, scenario, db):
    built = scenario("label_regex")
    repository = Repository.objects.create(name="labels", path=str(built["path"]))
    service = Service.objects.create(name="labels-svc", repository=repository)
    finding = make_finding(service, root_cause_commit=built["finding"]["root_cause"]["commit"])
    author, _subject = git_show(built["path"], built["finding"]["root_cause"]["commit"])
    assert author in page(client_for(reviewer), finding)


@pytest.mark.parametrize(
    ("repo_path", "commit", "message"),
    [
        (None, "abc1234", "No repository is registered"),
        ("/nonexistent/wattson/repo", "abc1234", "is not a git work tree"),
        ("TMP", "0123456789abcdef0123456789abcdef01234567", "is not in"),
        ("TMP", "--output=/tmp/pwned", "not a commit id"),
    ],
)
def test_root_cause_problems_are_explained_inline(
    client_for, reviewer, service, scenario, repo_path, commit, message
):
    repository = None
    if repo_path == "TMP":
        repo_path = str(scenario("rank_revert")["path"])
    if repo_path:
        repository = Repository.objects.create(name="r", path=repo_path)
    finding = make_finding(service, repository=repository, root_cause_commit=commit)
    text = page(client_for(reviewer), finding)
    assert message in text
    assert "Root-cause commit" in text


def test_no_root_cause_section_for_an_opportunity(client_for, reviewer, service):
    finding = make_finding(service, kind=Finding.Kind.OPPORTUNITY)
    assert "Root-cause commit" not in page(client_for(reviewer), finding)


def test_lists_proposals_runs_and_history(client_for, reviewer, service):
    finding = make_finding(service, status=Finding.Status.IN_REVIEW)
    run = SolveRun.objects.create(
        finding=finding,
        status=SolveRun.Status.FAILED,
        attempts=2,
        error="codemod <crashed>",
        requested_by=reviewer,
    )
    old = Proposal.objects.create(
        finding=finding,
        revision=1,
        status=Proposal.Status.CHANGES_REQUESTED,
        is_current=False,
        skill_slug="revert-hunk",
        estimated_watts=900,
    )
    current = Proposal.objects.create(
        finding=finding,
        revision=2,
        skill_slug="precompile-regex",
        estimated_watts=1500,
        applies=True,
        tests_passed=True,
    )
    AuditEvent.objects.create(
        actor=reviewer,
        actor_label="rita",
        verb="finding.status",
        target_type="finding",
        target_id=str(finding.pk),
        old_state="solving",
        new_state="in_review",
    )
    AuditEvent.objects.create(
        actor_label="system",
        verb="proposal.created",
        target_type="proposal",
        target_id=str(current.pk),
    )
    AuditEvent.objects.create(
        actor_label="system",
        verb="unrelated.event",
        target_type="finding",
        target_id=str(finding.pk + 1000),
    )
    text = page(client_for(reviewer), finding)
    assert "Revision 2" in text and "Revision 1" in text
    assert "precompile-regex" in text and "revert-hunk" in text
    assert "Changes requested" in text
    assert "1.5 kW" in text
    assert f"#{run.pk}" in text
    assert "codemod &lt;crashed&gt;" in text
    assert "solving → in_review" in text
    assert "proposal.created" in text
    assert "unrelated.event" not in text
    assert old.pk != current.pk


def test_page_query_count_is_bounded(client_for, reviewer, service, django_assert_max_num_queries):
    finding = make_finding(service)
    for revision in range(1, 6):
        Proposal.objects.create(
            finding=finding, revision=revision, is_current=revision == 5, skill_slug="memoize"
        )
    client = client_for(reviewer)
    with django_assert_max_num_queries(12):
        client.get(f"/findings/{finding.pk}/")


def test_post_is_not_allowed(client_for, reviewer, service):
    finding = make_finding(service)
    assert client_for(reviewer).post(f"/findings/{finding.pk}/").status_code == 405
