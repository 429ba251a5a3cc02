"""Issue 11, items 1-3: decisions are facts, request changes keeps a working fix, analyses are
not fixes. Re-solves use the fake solver of record_helpers (the candidate is the input)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from reviews.models import Decision, Finding, Proposal, SolveRun
from reviews.reports import ReportFilters, savings_report
from reviews.services.decisions import DecisionInvalid, proposal_decide
from reviews.services.solve_context import solve_context_build
from reviews.services.solving import SolveNeedsConfirmation
from skills.models import SkillStats
from skills.solver import prompts
from tests.reviews.gate_helpers import fix_branches, make_proposal, make_repo, make_skill
from tests.reviews.record_helpers import analysis, fix, resolve

P = Proposal.Status
R = SolveRun.Status


@pytest.fixture(autouse=True)
def _work_dir(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


@pytest.fixture
def proposal(repo, reviewer):
    make_skill("memoize")
    return make_proposal(repo=repo, assignee=reviewer, estimated_watts=120.0)


def _report(manager) -> dict[str, float]:
    report = savings_report(user=manager, filters=ReportFilters())
    return {b: getattr(report, b).watts for b in ("banked", "at_stake", "lost")}


def _stats(slug: str = "memoize") -> tuple[int, int, float]:
    row = SkillStats.objects.get(skill__slug=slug, version__isnull=True)
    return row.approved, row.rejected, row.banked_watts


def _stats_rows() -> set[tuple]:
    fields = ("skill_id", "version_id", "approved", "rejected", "changes_requested")
    return set(SkillStats.objects.values_list(*fields))


def _rebuilt_stats_agree() -> None:
    live = _stats_rows()
    call_command("rebuild_skill_stats")
    assert _stats_rows() == live


# --- 1. decisions are facts -------------------------------------------------------------------


@pytest.mark.django_db
def test_request_fix_on_an_approved_finding_asks_first_and_keeps_the_approval(
    proposal, repo, reviewer, reviewer2, manager, client_for
):
    proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    finding = proposal.finding
    assert _report(manager) == {"banked": 120.0, "at_stake": 0.0, "lost": 0.0}

    with pytest.raises(SolveNeedsConfirmation, match="Revision 1 was approved"):
        resolve(finding, fix(repo, 1), actor=reviewer2)
    url = reverse("reviews:solve-request", args=[finding.pk])
    answer = client_for(reviewer2).post(url, {}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 409
    assert "confirm_redecide" in answer.json()["error"]
    with pytest.raises(CommandError, match="--confirm"):
        call_command("solve", str(finding.pk))
    assert not SolveRun.objects.filter(finding=finding, revision=2).exists()

    run = resolve(finding, fix(repo, 1), actor=reviewer2, confirm=True)
    assert run.status == R.SUCCEEDED
    first, second = Proposal.objects.filter(finding=finding).order_by("revision")
    assert (first.status, first.is_current) == (P.APPROVED, False)
    assert (second.status, second.is_current) == (P.PENDING, True)
    assert not Decision.objects.filter(dismissed=True).exists()
    # The reports keep counting the approval; the skill keeps its acceptance.
    assert _report(manager) == {"banked": 120.0, "at_stake": 0.0, "lost": 0.0}
    assert _stats()[:2] == (1, 0)
    _rebuilt_stats_agree()

    # A newer decision by a person replaces it: now the rejection counts.
    proposal_decide(
        proposal=second, actor=reviewer, verdict="reject", reason="incorrect", comment="no"
    )
    assert _report(manager) == {"banked": 0.0, "at_stake": 0.0, "lost": 101.0}
    assert Proposal.objects.get(pk=first.pk).status == P.APPROVED  # the history keeps both
    assert fix_branches(repo) == [f"wattson/{finding.pk}-r1"]
    _rebuilt_stats_agree()


@pytest.mark.django_db
def test_a_re_solve_with_the_same_diff_as_a_decided_revision_makes_no_revision(
    proposal, repo, reviewer, reviewer2, manager
):
    proposal_decide(proposal=proposal, actor=reviewer, verdict="reject", reason="unsafe")
    run = resolve(proposal.finding, fix(repo, 0), actor=reviewer2, confirm=True)
    assert run.status == R.NO_FIX
    assert run.error.startswith(
        "could not revise: the solver proposed the same change as revision 1 (rejected)"
    )
    assert Proposal.objects.filter(finding=proposal.finding).count() == 1
    assert Finding.objects.get(pk=proposal.finding_id).status == Finding.Status.REJECTED
    assert _report(manager)["lost"] == 120.0


# --- 2. request changes never loses a working fix --------------------------------------------


@pytest.mark.django_db
def test_request_changes_keeps_revision_n_approvable_when_the_re_solve_cannot_honour_it(
    proposal, repo, reviewer, reviewer2
):
    proposal_decide(
        proposal=proposal, actor=reviewer, verdict="request_changes", comment="Rename `result`."
    )
    assert Proposal.objects.get(pk=proposal.pk).is_current  # not superseded by the request
    run = SolveRun.objects.get(finding=proposal.finding, status=R.QUEUED)
    context = solve_context_build(run=run)
    assert context.reviewer_comment == "Rename `result`."
    assert "Rename `result`." in prompts.finding_message(context)

    run = resolve(proposal.finding, analysis(), comment="Rename `result`.")
    assert run.status == R.NO_FIX
    assert run.error.startswith("could not revise: ")
    assert "an analysis without a code change" in run.error
    assert run.error.endswith("Revision 1 stays in review.")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.is_current) == (P.PENDING, True)
    assert Finding.objects.get(pk=proposal.finding_id).status == Finding.Status.IN_REVIEW
    assert Proposal.objects.filter(finding=proposal.finding).count() == 1
    # Still approvable, and approving it banks the fix.
    proposal_decide(proposal=proposal, actor=reviewer2, verdict="approve")
    assert Proposal.objects.get(pk=proposal.pk).status == P.APPROVED


@pytest.mark.django_db
def test_a_failing_re_solve_leaves_revision_n_and_a_validated_one_supersedes_it(
    proposal, repo, reviewer
):
    proposal_decide(proposal=proposal, actor=reviewer, verdict="request_changes", comment="x")
    run = resolve(proposal.finding, fix(repo, 1, passes=False), comment="x")
    assert "did not pass validation" in run.error
    assert Proposal.objects.get(pk=proposal.pk).status == P.PENDING

    proposal_decide(proposal=proposal, actor=reviewer, verdict="request_changes", comment="y")
    run = resolve(proposal.finding, fix(repo, 2), comment="y")
    assert run.status == R.SUCCEEDED
    older, newer = Proposal.objects.filter(finding=proposal.finding).order_by("revision")
    assert (older.status, older.is_current) == (P.SUPERSEDED, False)
    assert (newer.status, newer.revision, newer.is_current) == (P.PENDING, 2, True)


@pytest.mark.django_db
def test_an_analysis_revision_has_a_base_for_the_interdiff(repo, reviewer, client_for):
    make_skill("memoize")
    failing = make_proposal(repo=repo, tests_passed=False)  # no working fix to protect
    proposal_decide(proposal=failing, actor=reviewer, verdict="request_changes", comment="z")
    resolve(failing.finding, analysis(), comment="z")
    second = Proposal.objects.get(finding=failing.finding, revision=2)
    assert second.is_analysis and second.base_commit == failing.base_commit
    page = client_for(reviewer).get(
        reverse("reviews:proposal_interdiff", args=[second.pk, failing.pk])
    )
    assert "different base commits" not in page.content.decode()
    assert "no readable base commit" not in page.content.decode()


@pytest.mark.django_db
def test_the_offline_solver_says_it_cannot_act_on_free_text():
    from reviews.services.solve_backends import offline_comment_note
    from skills.solver.types import Candidate

    note = offline_comment_note(
        _context_with_comment(),
        Candidate(outcome="no_fix", no_fix_reason="no skill produced a change (tried memoize)"),
    )
    assert "cannot act on a free-text comment" in note
    assert "Anthropic backend" in note and "another skill" in note


def _context_with_comment():
    from skills.solver.types import Fleet, SolveContext

    return SolveContext(
        finding_id=1,
        kind="regression",
        title="t",
        metric="cpu",
        magnitude_pct=1.0,
        service="s",
        repo_path="/nonexistent",
        default_branch="main",
        functions=(),
        fleet=Fleet(servers=1, watts_per_server=1.0, pue=1.0, price_per_kwh=0.1),
        reviewer_comment="rename it",
    )


# --- 3. analyses are not fixes -----------------------------------------------------------------


@pytest.mark.django_db
def test_an_analysis_is_acknowledged_never_approved_and_never_counted(
    repo, reviewer, manager, client_for
):
    make_skill("memoize")
    finding = make_proposal(repo=repo).finding
    Proposal.objects.filter(finding=finding).delete()
    resolve(finding, analysis(watts=55.0))
    report_before = _report(manager)
    assert report_before == {"banked": 0.0, "at_stake": 0.0, "lost": 0.0}
    proposal = Proposal.objects.get(finding=finding)
    pins = {"revision": proposal.revision, "diff_sha256": proposal.diff_sha256}

    with pytest.raises(DecisionInvalid, match="analysis without a code change"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    page = client_for(reviewer).get(reverse("reviews:proposal", args=[proposal.pk]))
    html = page.content.decode()
    assert 'id="useful-button"' in html and 'id="approve-button"' not in html
    assert "wattson/" not in html  # no branch promised

    client_for(reviewer).post(
        reverse("reviews:proposal_acknowledge", args=[proposal.pk]), {**pins, "verdict": "useful"}
    )
    proposal.refresh_from_db()
    assert proposal.status == P.ACKNOWLEDGED and proposal.branch_name == ""
    assert Finding.objects.get(pk=finding.pk).status == Finding.Status.CLOSED
    assert _stats() == (1, 0, 0.0)  # feeds the skill; banks nothing
    assert _report(manager) == {"banked": 0.0, "at_stake": 0.0, "lost": 0.0}
    assert fix_branches(repo) == []
    _rebuilt_stats_agree()
