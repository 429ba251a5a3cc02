"""/metrics: what a Prometheus scraper sees, and who may see it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.authtoken.models import Token

from reviews.models import Finding, Service, SolveRun
from reviews.roles import INGEST
from reviews.services.decisions import proposal_decide
from reviews.services.solve_runs import solve_run_claim, solve_run_finish
from tests.reviews.gate_helpers import make_proposal, make_repo

TOKEN = "scrape-me-0123456789"


@pytest.fixture
def scrape(client, settings):
    settings.WATTSON_METRICS_TOKEN = TOKEN

    def read() -> str:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        return response.content.decode()

    return read


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value from the exposition text; 0 when the series is not there yet."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(key) == wanted for key, wanted in labels.items()):
            return float(match.group(3))
    return 0.0


def test_metrics_are_off_without_a_token(client, settings):
    settings.WATTSON_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_bearer_token(client, settings):
    settings.WATTSON_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 403
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 403
    assert b"wattson" not in wrong.content


@pytest.mark.django_db
def test_request_latency_is_labelled_by_view_name_not_path(client, scrape):
    before = value(
        scrape(), "wattson_http_request_duration_seconds_count", view="login", method="GET"
    )
    client.get("/login/")
    client.get("/login/?next=/somewhere/")
    client.get("/no-such-page-12345/")
    text = scrape()
    after = value(text, "wattson_http_request_duration_seconds_count", view="login", method="GET")
    assert after - before == 2
    assert "no-such-page" not in text
    assert value(text, "wattson_http_request_duration_seconds_count", view="<unresolved>") >= 1


@pytest.mark.django_db
def test_queue_depth_is_read_from_the_database_at_scrape_time(scrape):
    service = Service.objects.create(name="checkout")
    for n, status in enumerate(["queued", "queued", "running", "failed"]):
        finding = Finding.objects.create(
            kind="opportunity",
            source="test",
            external_id=f"q{n}",
            payload_sha256="0" * 64,
            service=service,
            title="slow",
            metric="cpu",
            magnitude_pct=1,
        )
        SolveRun.objects.create(finding=finding, status=status)
    text = scrape()
    assert value(text, "wattson_solve_queue_depth", status="queued") == 2
    assert value(text, "wattson_solve_queue_depth", status="running") == 1


@pytest.mark.django_db
def test_a_finished_solve_is_observed_by_backend_skill_and_outcome(
    scrape, django_capture_on_commit_callbacks
):
    service = Service.objects.create(name="checkout")
    finding = Finding.objects.create(
        kind="opportunity",
        source="test",
        external_id="done",
        payload_sha256="0" * 64,
        service=service,
        title="slow",
        metric="cpu",
        magnitude_pct=1,
        status=Finding.Status.SOLVING,
    )
    run = SolveRun.objects.create(
        finding=finding, deadline_at=timezone.now() + timedelta(minutes=5)
    )
    labels = {"backend": "offline", "skill": "memoize", "outcome": "no_fix"}
    before = value(scrape(), "wattson_solve_duration_seconds_count", **labels)
    claimed = solve_run_claim(run_id=run.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert solve_run_finish(
            claimed, attempt=1, status="no_fix", fields={}, data={"skill": "memoize"}
        )
    assert value(scrape(), "wattson_solve_duration_seconds_count", **labels) - before == 1


@pytest.mark.django_db
def test_decisions_are_counted_by_kind(
    scrape, reviewer, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"), assignee=reviewer)
    before = value(scrape(), "wattson_decisions_total", kind="reject")
    with django_capture_on_commit_callbacks(execute=True):
        proposal_decide(
            proposal=proposal, actor=reviewer, verdict="reject", reason="other", comment="No."
        )
    assert value(scrape(), "wattson_decisions_total", kind="reject") - before == 1


@pytest.mark.django_db
def test_ingest_counts_findings_and_rejections(
    client, scrape, django_user_model, django_capture_on_commit_callbacks
):
    bot = django_user_model.objects.create_user(username="detector-bot")
    bot.groups.add(Group.objects.get_or_create(name=INGEST)[0])
    headers = {"Authorization": f"Token {Token.objects.create(user=bot).key}"}
    body = {
        "kind": "regression",
        "external_id": "m-1",
        "source": "detector",
        "service": "feed",
        "title": "parse_sku got slower",
        "metric": "cpu",
        "magnitude_pct": 2.5,
        "functions": [{"symbol": "feed.skus.parse_sku", "file": "feed/skus.py"}],
    }
    text = scrape()
    created = value(text, "wattson_ingest_findings_total", outcome="created")
    existing = value(text, "wattson_ingest_findings_total", outcome="existing")
    refused = value(text, "wattson_ingest_rejections_total", status="400")
    for payload in (body, body, {**body, "magnitude_pct": "lots"}):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                "/api/v1/findings/", data=payload, content_type="application/json", headers=headers
            )
    text = scrape()
    assert value(text, "wattson_ingest_findings_total", outcome="created") - created == 1
    assert value(text, "wattson_ingest_findings_total", outcome="existing") - existing == 1
    assert value(text, "wattson_ingest_rejections_total", status="400") - refused == 1
