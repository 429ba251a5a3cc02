"""A reviewer requests a fix from the finding page and watches the solve live until it is ready.

A background thread stands in for the worker (the broker hand-off is the only thing replaced);
the solve itself is the real offline solver on the label_regex scenario repository.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from reviews.models import Finding, SolveRun
from reviews.services import solving
from reviews.services.ingest import finding_ingest
from reviews.services.repositories import repository_register
from tests.e2e.conftest import login, screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def background_worker(monkeypatch):
    """Enqueueing starts a thread that runs the solve a moment later, as a worker would."""
    threads: list[threading.Thread] = []

    def work(run_id: int) -> None:
        try:
            time.sleep(1.0)
            solving.solve_run_execute(run_id=run_id)
        finally:
            connection.close()

    def enqueue(*, run_id: int) -> None:
        thread = threading.Thread(target=work, args=(run_id,), daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(solving, "solve_run_enqueue", enqueue)
    # The solve sleeps a little (test hook) so the page has time to show it running.
    monkeypatch.setenv("WATTSON_TEST_HOOKS", "1")
    monkeypatch.setenv("WATTSON_TEST_SOLVE_SLEEP_S", "3")
    yield threads
    for thread in threads:
        thread.join(timeout=60)


@pytest.fixture
def labels_finding(transactional_db, scenario, settings, tmp_path) -> Finding:
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_AUTO_SOLVE = False
    built = scenario("label_regex")
    repository_register(
        name="labels",
        path=str(built["path"]),
        service_name=built["finding"]["service"],
        test_cmd=built["meta"]["test_cmd"],
        bench_cmd="",
        branch="main",
        actor=None,
    )
    result = finding_ingest(payload={**built["finding"], "repository": "labels"}, actor=None)
    return Finding.objects.get(pk=result.created[0])


def test_request_fix_shows_live_status_then_the_proposal(
    page, reviewer, labels_finding, background_worker
):
    login(page, reviewer)
    page.goto(f"/findings/{labels_finding.pk}/")
    panel = page.locator("#solve-panel")
    assert "No fix has been requested yet" in panel.inner_text()

    page.select_option("#solve-backend", "offline")
    page.click("#solve-panel button.primary")
    page.wait_for_load_state()
    assert "The solver is queued" in panel.inner_text()
    assert page.locator("#solve-panel form").count() == 0  # no second request while active

    # The polling script turns the queued line into the running one, with the steps so far.
    page.wait_for_selector("#solve-steps li", timeout=20_000)
    assert "The solver is running" in page.locator("#solve-status").inner_text()
    screenshot(page, "solve_panel_running", full_page=False)

    # When the run finishes the page reloads on its own and links the proposal.
    page.wait_for_selector(".solve-result", timeout=60_000)
    result = page.locator(".solve-result").inner_text()
    assert "precompile-regex" in result and "review it" in result
    assert "succeeded" in page.locator("#solve-status").inner_text()
    assert SolveRun.objects.get(finding=labels_finding).status == SolveRun.Status.SUCCEEDED
    assert page.console_errors == []
    screenshot(page, "solve_panel_done", full_page=False)
