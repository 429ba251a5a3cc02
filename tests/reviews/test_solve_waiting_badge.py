"""Findings auto-solve holds back say so where reviewers look: the queue and the finding page.

Issue #10 item 7: over a cap, the rest wait "visibly". A badge names the wait and the reason
(which cap, which setting); it goes once the sweeper queues the finding.
"""

from __future__ import annotations

import html
import uuid

import pytest
from django.urls import reverse

from reviews.models import Finding, Repository, Service, SolveRun
from reviews.services.ingest import finding_ingest
from reviews.tasks import sweep_solve_runs
from tests.reviews.gate_helpers import make_repo


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_AUTO_SOLVE = True
    settings.WATTSON_AUTO_SOLVE_MAX_PER_SOURCE = 1
    settings.WATTSON_AUTO_SOLVE_MAX_QUEUED = 10
    monkeypatch.setattr("reviews.services.solving.solve_run_enqueue", lambda **kwargs: None)


@pytest.fixture
def findings(transactional_db, tmp_path) -> tuple[Finding, Finding]:
    """Two findings of one source: one is queued, the other waits for the source cap."""
    repository = Repository.objects.create(name="feed", path=str(make_repo(tmp_path / "repo")))
    Service.objects.create(name="feed", repository=repository)
    items = [
        {
            "kind": "regression",
            "external_id": uuid.uuid4().hex,
            "source": "perf-sentinel",
            "service": "feed",
            "title": f"{symbol} got slower",
            "metric": "cpu",
            "magnitude_pct": 2.5,
            "functions": [{"symbol": symbol, "file": "feed/skus.py"}],
            "root_cause": {"commit": "abc1234"},
        }
        for symbol in ("feed.first", "feed.second")
    ]
    result = finding_ingest(payload=items, actor=None)
    assert result.ok, result.errors
    created = Finding.objects.filter(pk__in=result.created)
    return created.get(solve_waiting=""), created.get(solve_waiting=Finding.SolveWaiting.CAP)


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.mark.django_db(transaction=True)
def test_a_finding_over_the_cap_shows_waiting_with_its_reason(findings, reviewer, client_for):
    queued, waiting = findings
    assert waiting.solve_waiting == Finding.SolveWaiting.CAP
    client = client_for(reviewer)

    queue = _page(client, reverse("reviews:queue"))
    assert queue.count("waiting: cap") >= 1
    assert "WATTSON_AUTO_SOLVE_MAX_PER_SOURCE" in queue  # the reason, not just the word
    row = queue[queue.index(f"#{waiting.pk} ·") :]
    row = row[: row.index("</tr>")]
    assert 'class="badge solve-waiting waiting-cap"' in row
    other = queue[queue.index(f"#{queued.pk} ·") :]
    assert "solve-waiting" not in other[: other.index("</tr>")]

    page = _page(client, waiting.get_absolute_url())
    assert 'class="badge solve-waiting waiting-cap"' in page
    assert "source 'perf-sentinel' has 1 solves queued or running" in page
    assert "queued automatically once there is room" in page
    assert "solve-waiting" not in _page(client, queued.get_absolute_url())


@pytest.mark.django_db(transaction=True)
def test_the_badge_goes_once_the_sweeper_queues_the_finding(findings, reviewer, client_for):
    queued, waiting = findings
    SolveRun.objects.filter(finding=queued).update(status=SolveRun.Status.FAILED)
    assert sweep_solve_runs()["released"] == [waiting.pk]

    client = client_for(reviewer)
    assert "waiting: cap" not in _page(client, reverse("reviews:queue"))
    assert "waiting: cap" not in _page(client, waiting.get_absolute_url())
