"""Issue 11 leftovers in a real browser: deciding while a re-solve runs, numbers that say what
they are, Request fix without a repository, skill refusals in the trace, the queue's search.

The broker hand-off is replaced (nothing runs a queued solve); everything else is real.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from reviews.models import Finding, Proposal, Service, SolveRun
from reviews.services import solving
from reviews.services.decisions import proposal_decide
from reviews.services.solve_runs import solve_run_claim
from tests.e2e.conftest import login, screenshot
from tests.reviews.gate_helpers import make_proposal, make_repo, make_skill
from tests.reviews.test_reports import data  # noqa: F401 - the hand-made report data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def in_review(tmp_path, settings, reviewer, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    monkeypatch.setattr(solving, "solve_run_enqueue", lambda *, run_id: None)
    make_skill("memoize")
    return make_proposal(
        repo=make_repo(tmp_path / "repo"), assignee=reviewer, estimated_watts=120.0
    )


def test_revision_n_is_approved_while_its_re_solve_runs(page, reviewer, reviewer2, in_review):
    proposal_decide(
        proposal=in_review, actor=reviewer, verdict="request_changes", comment="Rename `r`."
    )
    run = SolveRun.objects.get(finding_id=in_review.finding_id, status=SolveRun.Status.QUEUED)
    assert solve_run_claim(run_id=run.pk) is not None  # a worker is on it

    login(page, reviewer2)
    page.goto(f"/proposals/{in_review.pk}/")
    note = page.locator("#resolve-running-note")
    assert "deciding now cancels that solve and its result is discarded" in note.inner_text()
    assert page.locator("#changes-form").count() == 0
    screenshot(page, "decide-during-resolve")
    page.click("#approve-button")
    page.wait_for_load_state()

    assert Proposal.objects.get(pk=in_review.pk).status == Proposal.Status.APPROVED
    assert Finding.objects.get(pk=in_review.finding_id).status == Finding.Status.FIXED
    page.goto(f"/findings/{in_review.finding_id}/")
    runs = page.locator("table.data").filter(has_text="Requested by")
    assert "Cancelled" in runs.inner_text()
    assert "its result was discarded" in runs.inner_text()
    assert page.console_errors == []


def test_request_fix_without_a_repository_is_disabled_with_the_reason(page, reviewer, db):
    service = Service.objects.create(name="postage")
    finding = Finding.objects.create(
        kind=Finding.Kind.OPPORTUNITY,
        source="survey",
        external_id=uuid.uuid4().hex,
        payload_sha256="0" * 64,
        service=service,
        title="label() is slow",
        metric="cpu",
        magnitude_pct=1.5,
    )
    login(page, reviewer)
    page.goto(f"/findings/{finding.pk}/")
    button = page.get_by_role("button", name="Request fix")
    assert button.is_disabled()
    reason = page.locator("#solve-unavailable").inner_text()
    assert reason.startswith("No repository is registered for service postage")
    screenshot(page, "request-fix-disabled")


def test_the_queue_searches_title_function_service_and_commit(page, reviewer, in_review):
    other = Service.objects.create(name="search-indexer")
    Finding.objects.create(
        kind=Finding.Kind.OPPORTUNITY,
        source="survey",
        external_id=uuid.uuid4().hex,
        payload_sha256="0" * 64,
        service=other,
        title="Tokenizer lowercases twice",
        metric="cpu",
        magnitude_pct=2.0,
        functions=[{"symbol": "index.tokenize.Lower_Terms"}],
        root_cause_commit="c0ffee" + "0" * 34,
    )
    login(page, reviewer)
    page.goto("/")
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 2
    for query in ("lower_terms", "SEARCH-INDEXER", "c0ffee", "tokenizer twice"):
        page.fill("#queue-search", query)
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state()
        assert rows.count() == 1, query
        assert "Tokenizer lowercases twice" in rows.inner_text()
    assert page.locator("#queue-search").input_value() == "tokenizer twice"
    screenshot(page, "queue-search")


def test_refusals_read_as_refusals_and_savings_show_their_formulas(page, reviewer, in_review):
    Proposal.objects.filter(pk=in_review.pk).update(
        expected_recovery=0.9, measured_recovery=0.5, measured_watts=66.0
    )
    SolveRun.objects.filter(pk=in_review.solve_run_id).update(
        trace=[
            {
                "tool": "codemod",
                "arguments": {"skill": "string-join"},
                "summary": "refused",
                "duration_ms": 2,
                "error": "string-join: no += on a str in a loop",
            },
        ]  # fmt: skip
    )
    login(page, reviewer)
    page.goto(f"/proposals/{in_review.pk}/")
    step = page.locator("li.tcall").first
    assert "refused" in step.locator("summary").inner_text()
    assert step.locator(".terr").count() == 0
    page.click("#estimated-formula summary")
    formula = page.locator("#estimated-formula code").inner_text()
    assert formula == "fleet 1,000 × 350 W × PUE 1.2 × 2.5 % × expected recovery 0.9"
    page.click("#measured-formula summary")
    assert "measured recovery 0.5" in page.locator("#measured-formula code").inner_text()
    screenshot(page, "savings-formulas")


def test_report_presets_and_the_wide_csv(page, data, manager):  # noqa: F811
    login(page, manager)
    page.goto("/reports/?breakdown=skill")
    page.get_by_role("link", name="Last 13 weeks").click()
    page.wait_for_load_state()
    start, end = page.input_value("input[name=start]"), page.input_value("input[name=end]")
    assert start and end and start < end and "breakdown=skill" in page.url
    assert page.locator(".report-presets .is-active").inner_text() == "Last 13 weeks"
    page.goto("/reports/")
    with page.expect_download() as download:
        page.click("#csv-wide")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("week,service,banked_estimated_watts,banked_measured_watts")
    assert lines[1].startswith("2026-01-05,checkout,1000.0,800.0,")
