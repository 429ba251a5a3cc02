"""Races that SQLite serialises but PostgreSQL does not: concurrent requests and claims."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from reviews.models import Finding, Repository, Service, SolveRun
from reviews.services import solving
from reviews.services.solve_runs import solve_run_claim

pytestmark = pytest.mark.integration


def in_threads(count: int, func) -> list:
    """Run func in `count` threads released together; their results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = func()
        except Exception as exc:  # reported to the test, not swallowed
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def finding(transactional_db, monkeypatch) -> Finding:
    monkeypatch.setattr(solving, "solve_run_enqueue", lambda *, run_id: None)
    # Request fix needs a registered repository; nothing here runs the solver against it.
    repository = Repository.objects.create(name="race", path="/nonexistent/race")
    service = Service.objects.create(name="race", repository=repository)
    return Finding.objects.create(
        kind="opportunity",
        source="race",
        external_id="race-1",
        payload_sha256="0" * 64,
        service=service,
        title="race",
        metric="cpu",
        magnitude_pct=1,
    )


def test_concurrent_requests_share_one_run(finding):
    results = in_threads(
        4, lambda: solving.solve_request(finding=Finding.objects.get(pk=finding.pk), actor=None)
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({run.pk for run in results}) == 1
    assert SolveRun.objects.filter(finding=finding).count() == 1
    finding.refresh_from_db()
    assert finding.status == Finding.Status.SOLVING


def test_concurrent_claims_let_exactly_one_worker_run_it(finding, monkeypatch):
    run = solving.solve_request(finding=finding, actor=None)
    started: list[int] = []

    def fake_execute_body(run_id: int) -> int | None:
        claimed = solve_run_claim(run_id=run_id)
        if claimed is not None:
            started.append(claimed.attempts)
        return claimed

    results = in_threads(4, lambda: fake_execute_body(run.pk))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert started == [1]
    assert SolveRun.objects.get(pk=run.pk).attempts == 1
