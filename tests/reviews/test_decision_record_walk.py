"""Property test: after ANY sequence of ingests, solves, re-solves, decisions, acknowledgements
and pull requests merged, closed or reopened on the code host, the live skill statistics equal
`rebuild_skill_stats`, the trigger-kept rollups equal a rebuild, and the report's banked (and
shipped) / at stake / lost equal what the decision record says.

Some fixes are composed of two skills' changes (issue #12 item 5): their decisions count for
both skills, live and in the rebuild. A seeded random walk (reproducible: the failing seed and
step are in the assertion message) over the real services, with the fake solver of
record_helpers standing in for the backend.
"""

from __future__ import annotations

import random
import uuid

import pytest
from django.core.management import call_command

from reviews import rollups
from reviews.models import Decision, Finding, Proposal, PullRequest, Service
from reviews.reports import ReportFilters, savings_report
from reviews.services.code_hosts.delivery import pull_request_record_fate
from reviews.services.decisions import DecisionError, proposal_decide
from reviews.services.solving import SolveNeedsConfirmation
from reviews.services.transitions import TransitionError
from skills.models import SkillStats
from tests.reviews.gate_helpers import make_repo, make_skill
from tests.reviews.record_helpers import analysis, fix, no_fix, resolve
from tests.reviews.test_report_rollups import _snapshot

STEPS = 40
SEEDS = (1, 2, 3, 4, 5)
BUCKET = {
    Proposal.Status.APPROVED: "banked",
    Proposal.Status.SHIPPED: "banked",
    Proposal.Status.REJECTED: "lost",
    Proposal.Status.ABANDONED: "lost",
    Proposal.Status.PENDING: "at_stake",
    Proposal.Status.STALE: "at_stake",
    Proposal.Status.CHANGES_REQUESTED: "at_stake",
}


@pytest.fixture(autouse=True)
def _work_dir(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _ingest(repo_row, service) -> Finding:
    return Finding.objects.create(
        kind=Finding.Kind.REGRESSION,
        source="walk",
        external_id=uuid.uuid4().hex,
        payload_sha256="0" * 64,
        service=service,
        repository=repo_row,
        title="total() got slower",
        metric="cpu",
        magnitude_pct=2.5,
    )


def _candidate(rng: random.Random, repo):
    roll = rng.random()
    if roll < 0.55:
        if (
            rng.random() < 0.5
            or not Decision.objects.filter(proposal__composed_skills__isnull=False).exists()
        ):
            # Two codemods composed into one patch: the decision counts for both skills.
            first, second = rng.sample(["memoize", "string-join", "precompile-regex"], 2)
            return fix(repo, rng.randrange(3), skill=first, also=(second,))
        return fix(repo, rng.randrange(3), skill=rng.choice(["memoize", "string-join"]))
    if roll < 0.7:
        return fix(repo, rng.randrange(3), passes=False)
    if roll < 0.85:
        return analysis(skill=rng.choice(["memoize", "string-join"]))
    return no_fix()


def _act(rng: random.Random, repo, repo_row, service, people) -> str:
    """One random action; an action the product refuses is a no-op (and says so)."""
    findings = list(Finding.objects.all())
    if not findings or rng.random() < 0.1:
        _ingest(repo_row, service)
        return "ingest"
    finding = rng.choice(findings)
    current = finding.proposals.filter(is_current=True).first()
    # Mostly what a reviewer could do next; sometimes anything (the refusals are tested too).
    if rng.random() < 0.15:
        choices = ["solve", "approve", "reject", "request_changes", "useful", "not_useful"]
    elif current is not None and current.status in FATES:
        # Its pull request's fate comes back from the code host.
        choices = ["solve", "merged", "closed", "merged", "closed", "open"]
    elif current is None or current.status != Proposal.Status.PENDING:
        choices = ["solve"]
    elif current.is_analysis:
        choices = ["useful", "not_useful", "request_changes", "solve"]
    else:
        choices = ["approve", "approve", "reject", "request_changes", "solve"]
    action = rng.choice(choices)
    try:
        if action == "solve" or current is None:
            resolve(finding, _candidate(rng, repo), confirm=rng.random() < 0.8)
            return "solve"
        if action in ("merged", "closed", "open"):
            return _fate(current, action)
        verdict = {"useful": "useful", "not_useful": "not_useful"}.get(action, action)
        proposal_decide(
            proposal=current,
            actor=rng.choice(people),
            verdict=verdict,
            reason="incorrect" if verdict == "reject" else "",
            comment="please change it" if verdict == "request_changes" else "",
        )
        return action
    except (DecisionError, SolveNeedsConfirmation) as exc:
        return f"{action} refused: {type(exc).__name__}"


# Proposal statuses whose pull request may still change its fate, and the host's states.
FATES = (Proposal.Status.APPROVED, Proposal.Status.ABANDONED)


def _fate(proposal: Proposal, state: str) -> str:
    """The code host says the proposal's pull request was merged, closed or reopened."""
    pull_request, _ = PullRequest.objects.get_or_create(
        proposal=proposal,
        defaults={
            "host": "github",
            "api_url": "https://api.github.com",
            "project": "acme/walk",
            "branch": proposal.branch_name or "b",
            "base_branch": "main",
            "status": PullRequest.Status.OPEN,
            "number": proposal.pk,
        },
    )
    try:
        pull_request_record_fate(pull_request=pull_request, state=state, via="walk")
    except TransitionError as exc:
        return f"{state} refused: {type(exc).__name__}"
    return state


def _oracle() -> dict[str, float]:
    """Banked / at stake / lost from the record: per finding, the revision of the last approval
    or rejection a person made, else the current revision; analyses count nowhere."""
    totals = {"banked": 0.0, "at_stake": 0.0, "lost": 0.0, "shipped": 0.0}
    for finding in Finding.objects.all():
        last = (
            Decision.objects.filter(proposal__finding=finding, verdict__in=["approve", "reject"])
            .order_by("-id")
            .first()
        )
        counted = last.proposal if last else finding.proposals.filter(is_current=True).first()
        if counted is None or counted.is_analysis or counted.status not in BUCKET:
            continue
        totals[BUCKET[counted.status]] += counted.estimated_watts
        if counted.status == Proposal.Status.SHIPPED:
            totals["shipped"] += counted.estimated_watts
    return totals


def _stats_rows() -> set[tuple]:
    fields = ("skill_id", "version_id", "approved", "rejected", "changes_requested")
    return {
        (*row[:-1], round(row[-1], 6))
        for row in SkillStats.objects.values_list(*fields, "banked_watts")
    }


@pytest.mark.django_db
@pytest.mark.parametrize("seed", SEEDS)
def test_stats_rollups_and_reports_agree_with_rebuilds_after_any_sequence(
    seed, tmp_path, reviewer, reviewer2, skill_admin, manager
):
    from reviews.models import Repository

    rng = random.Random(seed)
    repo = make_repo(tmp_path / "repo")
    repo_row = Repository.objects.create(name="walk", path=str(repo))
    service = Service.objects.create(name="walk-svc", repository=repo_row)
    for slug in ("memoize", "string-join", "precompile-regex"):
        make_skill(slug)
    people = [reviewer, reviewer2, skill_admin]
    history: list[str] = []
    for step in range(STEPS):
        history.append(_act(rng, repo, repo_row, service, people))
        where = f"seed {seed}, step {step}: {history}"

        live_rollups = _snapshot()
        rollups.rebuild()
        assert _snapshot() == live_rollups, where

        live_stats = _stats_rows()
        call_command("rebuild_skill_stats")
        assert _stats_rows() == live_stats, where

        report = savings_report(user=manager, filters=ReportFilters())
        expected = _oracle()
        for bucket, watts in expected.items():
            assert getattr(report, bucket).watts == pytest.approx(watts), (bucket, where)
    assert any(h == "approve" for h in history) or any(h == "reject" for h in history)
    assert any(h in ("merged", "closed") for h in history), history
    decided_composed = Decision.objects.filter(proposal__composed_skills__isnull=False)
    assert decided_composed.exists(), (
        f"seed {seed}: no decision on a composed proposal",
        list(Proposal.objects.values_list("skill_slug", "status", "composed_skills__skill_slug")),
        history,
    )
    # Each skill's statistics count every decision on a proposal whose patch holds its change.
    for stats in SkillStats.objects.filter(version__isnull=True).select_related("skill"):
        verdicts = [
            d.verdict
            for d in Decision.objects.select_related("proposal")
            if stats.skill.slug in d.proposal.skill_slugs
        ]
        accepted = sum(v in ("approve", "useful") for v in verdicts)
        assert (stats.approved, stats.rejected) == (
            accepted,
            sum(v in ("reject", "not_useful") for v in verdicts),
        ), (stats.skill.slug, seed)
