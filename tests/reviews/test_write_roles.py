"""Write services check the actor's role themselves, whatever calls them (page, API, admin)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from reviews.models import AuditEvent, Finding, Repository, Service, SolveRun
from reviews.services.assignment import finding_assign
from reviews.services.solving import solve_request


@pytest.fixture
def finding(db) -> Finding:
    repository = Repository.objects.create(name="feed", path="/srv/feed")
    service = Service.objects.create(name="feed", repository=repository)
    return Finding.objects.create(
        kind=Finding.Kind.REGRESSION,
        source="detector",
        external_id="a-1",
        payload_sha256="0" * 64,
        service=service,
        title="parse_sku got slower",
        metric="cpu",
        magnitude_pct=2.0,
        functions=[{"symbol": "feed.skus.parse_sku"}],
    )


def test_a_manager_cannot_request_a_fix_even_bypassing_the_page(finding, manager):
    with pytest.raises(PermissionDenied):
        solve_request(finding=finding, actor=manager, enqueue=False)
    assert not SolveRun.objects.filter(finding=finding).exists()
    finding.refresh_from_db()
    assert finding.status == Finding.Status.NEW


def test_a_reviewer_and_the_system_may_request_a_fix(finding, reviewer):
    run = solve_request(finding=finding, actor=reviewer, enqueue=False)
    assert run.requested_by == reviewer
    # None is the system (CLI, auto-solve): it joins the run already active.
    assert solve_request(finding=finding, actor=None, enqueue=False).pk == run.pk


def test_assigning_a_finding_leaves_an_audit_row(finding, reviewer, reviewer2):
    assert finding_assign(finding=finding, assignee=reviewer, actor=reviewer2, via="test")
    assert finding_assign(finding=finding, assignee=reviewer, actor=reviewer2, via="test") is False
    finding.refresh_from_db()
    assert finding.assignee == reviewer
    events = AuditEvent.objects.filter(verb="finding.assign", target_id=str(finding.pk))
    assert [(e.old_state, e.new_state, e.actor_label) for e in events] == [
        ("", reviewer.username, reviewer2.username)
    ]


def test_a_manager_cannot_assign_a_finding(finding, manager, reviewer):
    with pytest.raises(PermissionDenied):
        finding_assign(finding=finding, assignee=reviewer, actor=manager, via="test")
    finding.refresh_from_db()
    assert finding.assignee is None
    assert not AuditEvent.objects.filter(verb="finding.assign").exists()
