"""A reviewer logs in, opens "My reviews", opens the proposal, switches to side-by-side, approves.

The proposal comes from the real offline solver on the label_regex scenario repository, so the
browser shows (and the gate commits) a diff the product itself produced.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from reviews.models import Decision, Finding, Proposal
from reviews.roles import REVIEWER
from tests.conftest import PASSWORD
from tests.e2e.conftest import SCREENSHOTS, login, screenshot
from tests.reviews.gate_helpers import diff_for, fix_branches, git, make_proposal, repo_state

pytestmark = pytest.mark.e2e


def _shot(page, name: str, *, full_page: bool = True, selector: str = "") -> Path:
    if selector:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"review_flow_{name}.png"
        page.locator(selector).first.screenshot(path=str(path))
        return path
    return screenshot(page, f"review_flow_{name}", full_page=full_page)


def _solved_proposal(scenario_repo: dict, reviewer) -> Proposal:
    """Ingest the scenario's finding and solve it with the offline solver, in this process.

    Should the solver find nothing (a loaded machine can blur the benchmark), a hand-made real
    diff of the same repository stands in, so the test is about the review gate, not the solver.
    """
    from reviews.services.ingest import finding_ingest
    from reviews.services.repositories import repository_register
    from reviews.services.solving import solve_request, solve_run_execute

    meta, finding_json = scenario_repo["meta"], scenario_repo["finding"]
    repository_register(
        name=meta["name"],
        path=str(scenario_repo["path"]),
        service_name=finding_json["service"],
        test_cmd=meta["test_cmd"],
        bench_cmd=meta["bench_cmd"],
    )
    result = finding_ingest(payload=finding_json, actor=None)
    finding = Finding.objects.get(pk=(result.created or result.existing)[0])
    assert finding.assignee == reviewer, "ingest routes the finding to the root-cause author"
    run = solve_request(finding=finding, actor=None, backend="offline")
    solve_run_execute(run_id=run.pk)
    proposal = Proposal.objects.filter(finding=finding, is_current=True).first()
    if proposal is not None and proposal.diff and proposal.status == Proposal.Status.PENDING:
        return proposal
    repo = Path(scenario_repo["path"])
    source = (repo / "shipping" / "labels.py").read_text()
    diff = diff_for(
        repo, "shipping/labels.py", source.replace("Scanners at the depots", "Depot scanners")
    )
    Proposal.objects.filter(finding=finding).update(is_current=False)
    Finding.objects.filter(pk=finding.pk).update(status=Finding.Status.IN_REVIEW)
    revision = (proposal.revision + 1) if proposal else 1
    fallback = make_proposal(repo=repo, diff=diff, finding=finding, revision=revision)
    rationale = "Clarify the parse_tracking docstring\n"
    Proposal.objects.filter(pk=fallback.pk).update(rationale=rationale)
    return fallback


@pytest.mark.django_db(transaction=True)
def test_reviewer_approves_from_my_reviews(
    settings, tmp_path, live_server, scenario, django_user_model, page
):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_AUTO_SOLVE = False
    built = scenario("label_regex")
    repo = Path(built["path"])
    author_email = built["finding"]["root_cause"]["author"]
    # The root-cause author is the routed reviewer: ingest assigns the finding by that email.
    nadia = django_user_model.objects.create_user(
        username="nadia", password=PASSWORD, email=author_email, first_name="Nadia"
    )
    nadia.groups.add(Group.objects.get_or_create(name=REVIEWER)[0])
    proposal = _solved_proposal(built, nadia)
    finding = Finding.objects.get(pk=proposal.finding_id)
    before = repo_state(repo)

    login(page, nadia)
    page.goto("/my-reviews/")
    row_link = page.locator(f"a[href='/proposals/{proposal.pk}/']")
    assert row_link.count() == 1, "the proposal is listed under My reviews"
    _shot(page, "1_my_reviews")
    row_link.first.click()
    page.wait_for_load_state()
    assert page.locator("#approve-button").is_visible()
    side_by_side = page.locator("[data-view-choice=sbs]")
    if side_by_side.count():
        side_by_side.first.click()
        assert side_by_side.first.get_attribute("aria-pressed") == "true"
    _shot(page, "2_proposal_side_by_side")

    page.click("#approve-button")
    page.wait_for_load_state()
    _shot(page, "3_approved", full_page=False)
    _shot(page, "4_decision_panel", selector="#decision")
    assert "Approved revision" in page.content()
    assert page.console_errors == [], "no script errors or CSP violations on the way"

    branch = f"wattson/{finding.pk}-r{proposal.revision}"
    assert fix_branches(repo) == [branch]
    assert repo_state(repo) == before
    assert git(repo, "rev-parse", f"{branch}^") == before["main"]
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.APPROVED
    assert proposal.branch_commit == git(repo, "rev-parse", branch)
    assert Finding.objects.get(pk=finding.pk).status == Finding.Status.FIXED
    shutil.rmtree(settings.WATTSON_WORK_DIR, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_second_reviewer_sees_a_conflict_and_can_reject_with_a_reason(
    settings, tmp_path, live_server, page, reviewer, reviewer2
):
    from reviews.services.decisions import proposal_decide
    from tests.reviews.gate_helpers import make_repo

    settings.WATTSON_WORK_DIR = tmp_path / "work"
    repo = make_repo(tmp_path / "repo")
    first = make_proposal(repo=repo, assignee=reviewer)
    second = make_proposal(repo=repo, assignee=reviewer)

    login(page, reviewer)
    page.goto(f"/proposals/{first.pk}/")
    assert page.locator("#approve-button").is_visible()
    # Meanwhile another reviewer approves the same revision.
    proposal_decide(proposal=first, actor=reviewer2, verdict="approve")
    page.click("#approve-button")
    page.wait_for_load_state()
    message = page.locator(".messages").inner_text()
    assert "already decided by ravi" in message
    _shot(page, "5_conflict", full_page=False)
    assert Decision.objects.filter(proposal=first).count() == 1

    page.goto(f"/proposals/{second.pk}/")
    page.click("#reject-details summary")
    page.select_option("#reject-reason", "not_root_cause")
    page.fill("#reject-comment", "The regression is in mean(), not total().")
    page.click("#reject-button")
    page.wait_for_load_state()
    assert "Rejected revision 1" in page.locator(".messages").inner_text()
    _shot(page, "6_rejected", selector="#decision")
    decision = Decision.objects.get(proposal=second)
    assert (decision.verdict, decision.reason) == ("reject", "not_root_cause")
    assert decision.comment == "The regression is in mean(), not total()."
    assert fix_branches(repo) == [f"wattson/{first.finding_id}-r1"]
    assert page.console_errors == []
