"""Request fix on an approved finding asks first, says what will happen, and keeps the approval.

The broker hand-off is replaced (nothing runs the queued solve); everything else is real.
"""

from __future__ import annotations

import pytest

from reviews.models import Decision, Proposal, SolveRun
from reviews.services import solving
from reviews.services.decisions import proposal_decide
from tests.e2e.conftest import login, screenshot
from tests.reviews.gate_helpers import make_proposal, make_repo, make_skill

pytestmark = pytest.mark.e2e


@pytest.fixture
def approved(tmp_path, settings, reviewer2, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    monkeypatch.setattr(solving, "solve_run_enqueue", lambda *, run_id: None)
    make_skill("memoize")
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"), estimated_watts=120.0)
    proposal_decide(proposal=proposal, actor=reviewer2, verdict="approve")
    return proposal


def test_request_fix_on_an_approved_finding_needs_the_confirm_step(page, reviewer, approved):
    login(page, reviewer)
    page.goto(f"/findings/{approved.finding_id}/")
    warning = page.locator("#redecide-warning")
    assert "Revision 1 was approved" in warning.inner_text()
    assert "stays on record" in warning.inner_text()
    screenshot(page, "redecide-confirm")

    # Without the confirmation the browser does not send the request.
    page.click("#solve-form button[type=submit]")
    assert not SolveRun.objects.filter(finding_id=approved.finding_id, revision=2).exists()

    page.check("#confirm-redecide")
    page.click("#solve-form button[type=submit]")
    page.wait_for_load_state()
    assert SolveRun.objects.filter(finding_id=approved.finding_id, revision=2).exists()
    assert "is queued" in page.locator("body").inner_text()
    # The approval is still the record.
    assert Proposal.objects.get(pk=approved.pk).status == Proposal.Status.APPROVED
    assert not Decision.objects.get(proposal=approved).dismissed
    assert page.console_errors == []
