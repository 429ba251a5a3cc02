"""Request fix on a decided finding says what stands: approved, rejected, shipped or abandoned.

Issue #13 made approved fixes ship (pull request merged) or be abandoned (closed unmerged); the
Fix panel's confirm step must name those too, and re-solving one needs the same confirmation.
"""

from __future__ import annotations

import html

import pytest

from reviews.models import Proposal
from reviews.services.solving import SolveNeedsConfirmation, solve_request
from tests.reviews.gate_helpers import make_proposal, make_repo

P = Proposal.Status


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    monkeypatch.setattr("reviews.services.solving.solve_run_enqueue", lambda **kwargs: None)


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (P.APPROVED, ["was approved", "the approval stays on record", "stay banked"]),
        (P.REJECTED, ["was rejected", "the rejection stays on record", "stay lost"]),
        (
            P.SHIPPED,
            ["pull request merged (shipped)", "the shipped fix stays on record", "banked"],
        ),
        (
            P.ABANDONED,
            ["closed unmerged (abandoned)", "the abandoned fix stays on record", "stay lost"],
        ),
    ],
)
@pytest.mark.django_db
def test_the_confirm_step_names_the_decision_that_stands(
    status, says, tmp_path, reviewer, client_for
):
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"))
    Proposal.objects.filter(pk=proposal.pk).update(status=status)
    finding = proposal.finding

    page = html.unescape(client_for(reviewer).get(finding.get_absolute_url()).content.decode())
    assert 'id="redecide-confirm"' in page
    warning = page[page.index('id="redecide-warning"') :]
    warning = warning[: warning.index("</p>")]
    for words in says:
        assert words in warning, (words, warning)

    with pytest.raises(SolveNeedsConfirmation):
        solve_request(finding=finding, actor=reviewer)
    assert solve_request(finding=finding, actor=reviewer, confirm_redecide=True).pk
    assert Proposal.objects.get(pk=proposal.pk).status == status  # the decision stands


@pytest.mark.django_db
def test_a_finding_in_review_needs_no_confirmation(tmp_path, reviewer, client_for):
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"))
    page = client_for(reviewer).get(proposal.finding.get_absolute_url()).content.decode()
    assert 'id="solve-form"' in page and 'id="redecide-confirm"' not in page
