"""Pinned query counts of the pages reviewers load most: the queue, a finding, a proposal with a
2,000-line diff, and the reports.

Each page is built twice, with one and with four of everything it lists (queue rows, proposals,
solve runs, decisions, comment threads with replies, composed skills, audit events): the number of
queries must not grow with the rows (no query per row), and must stay at or under the pinned
ceiling. A page that starts querying per row, or gains a query, fails here.
"""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reviews.models import (
    AuditEvent,
    Decision,
    Finding,
    Proposal,
    ProposalSkill,
    Repository,
    ReviewComment,
    ReviewThread,
    Service,
    SolveRun,
)
from reviews.roles import REVIEWER
from reviews.selectors import proposals as proposals_selectors
from skills.hashing import diff_sha256
from skills.models import Skill, SkillVersion

# Ceilings per page (3 of them are the session, the user and the user's groups).
MAX_QUERIES = {"queue": 8, "queue_filtered": 8, "finding": 7, "proposal": 12, "reports": 7}
DIFF_LINES = 2000


def _big_diff() -> str:
    lines = ["diff --git a/app/handlers.py b/app/handlers.py", "--- a/app/handlers.py"]
    lines += ["+++ b/app/handlers.py", f"@@ -1,{DIFF_LINES // 2} +1,{DIFF_LINES // 2} @@"]
    for i in range(DIFF_LINES // 2):
        lines += [f"-    return value + {i}", f"+    return value * {i}"]
    return "\n".join(lines) + "\n"


def _skill_versions(count: int) -> list[SkillVersion]:
    versions = []
    for i in range(count):
        skill = Skill.objects.create(slug=f"pinned-skill-{count}-{i}", name=f"Pinned skill {i}")
        # Saving a skill records its first version.
        versions.append(
            SkillVersion.objects.filter(skill=skill).first()
            or SkillVersion.objects.create(
                skill=skill, number=1, name=skill.name, side="both", expected_recovery=0.1
            )
        )
    return versions


def _proposal(finding: Finding, users: list[User], rows: int) -> Proposal:
    versions = _skill_versions(rows + 1)
    diff = _big_diff()
    proposal = Proposal.objects.create(
        finding=finding, revision=rows, diff=diff, base_commit="0" * 40,
        diff_sha256=hashlib.sha256(diff.encode()).hexdigest(), skill_version=versions[0],
        skill_slug=versions[0].skill.slug, rationale="Multiply instead of add.",
        applies=True, tests_passed=True, bench_before_s=0.2, bench_after_s=0.1,
        requested_by=users[0],
    )  # fmt: skip
    for i in range(1, rows):
        Proposal.objects.create(finding=finding, revision=i, is_current=False, diff=diff)
    for position, version in enumerate(versions[1:], start=1):
        ProposalSkill.objects.create(
            proposal=proposal, position=position, skill_slug=version.skill.slug,
            skill_version=version,
        )  # fmt: skip
    for i, user in enumerate(users[:rows]):
        Decision.objects.create(
            proposal=proposal, revision=proposal.revision, diff_sha256=proposal.diff_sha256,
            reviewer=user, verdict=Decision.Verdict.REQUEST_CHANGES, comment=f"look again {i}",
        )  # fmt: skip
        thread = ReviewThread.objects.create(
            proposal=proposal, origin_proposal=proposal, path="app/handlers.py",
            start_line=10 + i, end_line=10 + i, author=user, resolved_by=users[-1],
            status=ReviewThread.Status.RESOLVED if i % 2 else ReviewThread.Status.OPEN,
        )  # fmt: skip
        for reply in range(2):
            ReviewComment.objects.create(
                thread=thread, author=users[(i + reply) % len(users)], text=f"reply {reply}",
                revision=proposal.revision,
            )  # fmt: skip
    return proposal


def _build(rows: int) -> dict:
    """A reviewer, `rows` queue rows (each its own service and assignee) and one finding with
    `rows` of everything its page and its proposal's page list."""
    group = Group.objects.get_or_create(name=REVIEWER)[0]
    users = []
    for i in range(max(rows, 2)):
        user = User.objects.create_user(f"pinned-{rows}-reviewer-{i}")
        user.groups.add(group)
        users.append(user)
    findings = [
        Finding.objects.create(
            external_id=f"pinned-{rows}-{i}",
            source="pinned",
            title=f"CPU regression {i}",
            service=Service.objects.create(name=f"pinned-{rows}-service-{i}"),
            assignee=users[i],
            magnitude_pct=1.0 + i,
            functions=[{"symbol": f"app.f{i}", "file": f"app/f{i}.py"}],
        )  # fmt: skip
        for i in range(rows)
    ]
    finding = findings[0]
    for i in range(rows):
        run = SolveRun.objects.create(
            finding=finding, revision=i + 1, status=SolveRun.Status.FAILED, requested_by=users[0],
            error=f"failed {i}",
        )  # fmt: skip
        AuditEvent.objects.create(
            actor=users[i], verb="solve.failed", target_type="solverun", target_id=str(run.pk)
        )
        AuditEvent.objects.create(
            actor=users[i], verb="finding.note", target_type="finding", target_id=str(finding.pk)
        )
    proposal = _proposal(finding, users, rows)
    return {"user": users[0], "finding": finding, "proposal": proposal}


def _pages(data: dict) -> dict[str, str]:
    finding = data["finding"]
    return {
        "queue": reverse("reviews:queue"),
        "queue_filtered": f"{reverse('reviews:queue')}?service={finding.service_id}&sort=magnitude",
        "finding": reverse("reviews:finding", args=[finding.pk]),
        "proposal": reverse("reviews:proposal", args=[data["proposal"].pk]),
        "reports": reverse("reviews:reports"),
    }


def _queries(client, url: str) -> int:
    assert client.get(url).status_code == 200  # the first visit fills the diff's render cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.fixture
def one_row(db) -> dict:
    return _build(1)


@pytest.fixture
def four_rows(db, one_row) -> dict:
    return _build(4)


@pytest.mark.parametrize("page", list(MAX_QUERIES))
def test_page_queries_do_not_grow_with_rows(client, one_row, four_rows, page):
    """Four decisions, threads, skills, runs and queue rows cost no more queries than one."""
    client.force_login(one_row["user"])
    few = _queries(client, _pages(one_row)[page])
    client.force_login(four_rows["user"])
    many = _queries(client, _pages(four_rows)[page])
    assert many == few, f"{page}: {few} queries with one row, {many} with four"


@pytest.mark.parametrize("page", list(MAX_QUERIES))
def test_page_queries_stay_under_the_ceiling(
    client, four_rows, page, django_assert_max_num_queries
):
    client.force_login(four_rows["user"])
    url = _pages(four_rows)[page]
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES[page]):
        response = client.get(url)
    assert response.status_code == 200


def test_proposal_page_shows_each_decision_and_composed_skill(client, four_rows):
    """What the prefetches load is what the page shows: every reviewer, every skill."""
    client.force_login(four_rows["user"])
    page = client.get(_pages(four_rows)["proposal"]).content.decode()
    for i in range(4):
        assert f"pinned-4-reviewer-{i}</strong>" in page
        assert f'data-composed-skill="pinned-skill-5-{i + 1}"' in page
    assert page.count('class="thread-index-row') == 4


def test_a_cleared_render_cache_is_not_answered_from_a_process_copy(client, one_row, tmp_path):
    """The web process keeps its last renders, but only while the shared cache holds them: after
    the shared cache is cleared the page shows a fresh render, not the copy the process kept."""
    client.force_login(one_row["user"])
    url = _pages(one_row)["proposal"]
    first = client.get(url).content.decode()
    assert "No repository is registered for this finding" in first
    assert "No repository is registered" in client.get(url).content.decode()  # kept copy
    cache.clear()
    repository = Repository.objects.create(name="pinned-gone", path=str(tmp_path / "gone"))
    Finding.objects.filter(pk=one_row["finding"].pk).update(repository=repository)
    fresh = client.get(url).content.decode()
    assert "No repository is registered" not in fresh
    assert "pinned-gone" in fresh


def test_the_shared_render_keeps_the_previous_release_format(client, one_row):
    """Old and new web processes share the cache during a deploy: the render is stored as the
    plain fields a previous release reads, and one it stored (without a token) is served."""
    client.force_login(one_row["user"])
    proposal = one_row["proposal"]
    url = _pages(one_row)["proposal"]
    cache.clear()
    client.get(url)
    key = proposals_selectors._cache_key(
        "proposal", proposal.pk, diff_sha256(proposal.diff), proposal.base_commit,
        "highlight=1", reverse("reviews:proposal_context", args=[proposal.pk]),
    )  # fmt: skip
    stored = cache.get(key)
    assert set(stored) == {"html", "files", "added", "removed", "warnings", "cached"}
    cache.clear()
    cache.set(key, {**stored, "html": '<p id="from-the-previous-release">render</p>'})
    for _ in range(2):  # served from the shared cache, then from the process (now tokened)
        assert 'id="from-the-previous-release"' in client.get(url).content.decode()
