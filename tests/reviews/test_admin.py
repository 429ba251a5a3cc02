"""The review admin: configuration is editable, pipeline output is read-only."""

from __future__ import annotations

import pytest

from reviews.models import AuditEvent, Decision, Finding, Proposal, Repository, Service, SolveRun


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


@pytest.fixture
def pipeline_rows(finding, reviewer):
    run = SolveRun.objects.create(finding=finding, status=SolveRun.Status.SUCCEEDED)
    proposal = Proposal.objects.create(finding=finding, revision=1, solve_run=run, diff="x")
    decision = Decision.objects.create(
        proposal=proposal, revision=1, diff_sha256="1" * 64, reviewer=reviewer, verdict="approve"
    )
    event = AuditEvent.objects.create(
        actor_label="system", verb="finding.status", target_type="finding", target_id="1"
    )
    return {"solverun": run, "proposal": proposal, "decision": decision, "auditevent": event}


@pytest.mark.parametrize(
    "model", ["repository", "service", "source", "finding", "solverun", "proposal", "decision",
              "auditevent"],
)  # fmt: skip
def test_every_review_model_has_a_working_changelist(admin_client, pipeline_rows, model):
    response = admin_client.get(f"/admin/reviews/{model}/")
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["solverun", "proposal", "decision", "auditevent"])
def test_pipeline_output_is_view_only(admin_client, pipeline_rows, model):
    obj = pipeline_rows[model]
    page = admin_client.get(f"/admin/reviews/{model}/{obj.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(f"/admin/reviews/{model}/{obj.pk}/change/", {}).status_code == 403
    assert admin_client.get(f"/admin/reviews/{model}/add/").status_code == 403
    assert admin_client.post(f"/admin/reviews/{model}/{obj.pk}/delete/").status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_finding_assignee_is_editable_and_audited(admin_client, finding, reviewer):
    response = admin_client.post(
        f"/admin/reviews/finding/{finding.pk}/change/",
        {"assignee": reviewer.pk, "title": "renamed by hand", "_save": "Save"},
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.assignee == reviewer
    assert finding.title == "parse_sku got slower"  # what the detector sent stays
    event = AuditEvent.objects.get(verb="finding.assign", target_id=str(finding.pk))
    assert (event.old_state, event.new_state, event.actor_label) == ("", "rita", "admin")


def test_findings_are_not_added_or_deleted_by_hand(admin_client, finding):
    assert admin_client.get("/admin/reviews/finding/add/").status_code == 403
    assert admin_client.post(f"/admin/reviews/finding/{finding.pk}/delete/").status_code == 403
    assert Finding.objects.filter(pk=finding.pk).exists()


def test_reviewer_without_staff_cannot_open_the_admin(client_for, reviewer):
    response = client_for(reviewer).get("/admin/reviews/finding/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
