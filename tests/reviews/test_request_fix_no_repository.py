"""Issue 11 item 8: Request fix is disabled, with the reason, when no repository is registered
for the finding's service; the page, the JSON answer and the CLI refuse it the same way."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from reviews.models import Finding, Repository, Service, SolveRun

REASON = "No repository is registered for service postage: register one with"


@pytest.fixture
def finding(db):
    service = Service.objects.create(name="postage")
    return Finding.objects.create(
        kind=Finding.Kind.OPPORTUNITY,
        source="test",
        external_id=uuid.uuid4().hex,
        payload_sha256="0" * 64,
        service=service,
        title="label() is slow",
        metric="cpu",
        magnitude_pct=1.5,
    )


def test_the_fix_panel_disables_request_fix_and_says_why(finding, reviewer, client_for):
    page = client_for(reviewer).get(reverse("reviews:finding", args=[finding.pk]))
    text = page.content.decode()
    assert REASON in text
    assert "manage.py add_repo NAME PATH --service postage" in text
    assert 'id="solve-form"' not in text
    assert 'disabled aria-describedby="solve-unavailable"' in text


def test_a_posted_request_is_refused_and_nothing_is_queued(finding, reviewer, client_for):
    client = client_for(reviewer)
    url = reverse("reviews:solve-request", args=[finding.pk])
    answer = client.post(url, {}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "no_repository"
    assert answer.json()["error"].startswith(REASON)
    page = client.post(url, {}, follow=True)
    assert REASON in page.content.decode()
    with pytest.raises(CommandError, match="No repository is registered for service postage"):
        call_command("solve", str(finding.pk))
    assert not SolveRun.objects.exists()
    assert Finding.objects.get(pk=finding.pk).status == Finding.Status.NEW


def test_registering_a_repository_enables_it(finding, reviewer, client_for, tmp_path):
    repository = Repository.objects.create(name="postage", path=str(tmp_path))
    Service.objects.filter(pk=finding.service_id).update(repository=repository)
    page = client_for(reviewer).get(reverse("reviews:finding", args=[finding.pk]))
    text = page.content.decode()
    assert 'id="solve-form"' in text and REASON not in text
