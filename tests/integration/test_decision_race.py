"""Two reviewers deciding the same proposal at the same moment, on PostgreSQL: one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from reviews.models import AuditEvent, Decision, Finding, Proposal
from reviews.services.decisions import DecisionConflict, proposal_decide
from skills.models import SkillStats
from tests.reviews.gate_helpers import fix_branches, make_proposal, make_repo

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _work_dir(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _race(proposal: Proposal, attempts: list[dict]) -> list[object]:
    """Run proposal_decide once per attempt, all released together by a barrier."""
    barrier = threading.Barrier(len(attempts))
    results: list[object] = [None] * len(attempts)

    def decide(index: int, kwargs: dict) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = proposal_decide(
                proposal=Proposal.objects.get(pk=proposal.pk),
                expected_revision=proposal.revision,
                expected_diff_sha256=proposal.diff_sha256,
                **kwargs,
            )
        except Exception as exc:  # collected and asserted on below
            results[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(index, kwargs))
        for index, kwargs in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _split(results: list[object]) -> tuple[list[Decision], list[DecisionConflict]]:
    won = [r for r in results if isinstance(r, Decision)]
    lost = [r for r in results if isinstance(r, DecisionConflict)]
    assert len(won) + len(lost) == len(results), results
    for exc in lost:
        # Usually "Someone else decided first" (lost at the conditional UPDATE); a thread
        # scheduled late sees the decided proposal before it gets there. Either says who won.
        assert "already decided by" in exc.message
    return won, lost


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_make_one_decision_and_one_branch(tmp_path, reviewer, reviewer2):
    repo = make_repo(tmp_path / "repo")
    proposal = make_proposal(repo=repo)
    results = _race(
        proposal,
        [
            {"actor": reviewer, "verdict": "approve"},
            {"actor": reviewer2, "verdict": "approve"},
        ],
    )
    won, lost = _split(results)
    assert len(won) == 1 and len(lost) == 1
    assert "decided" in lost[0].message
    assert Decision.objects.count() == 1
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.APPROVED
    assert Finding.objects.get(pk=proposal.finding_id).status == Finding.Status.FIXED
    assert fix_branches(repo) == [f"wattson/{proposal.finding_id}-r1"]
    assert AuditEvent.objects.filter(verb__startswith="decision.").count() == 1
    assert SkillStats.objects.get(version=None).approved == 1


@pytest.mark.django_db(transaction=True)
def test_approve_and_reject_at_once_leave_one_consistent_outcome(tmp_path, reviewer, reviewer2):
    repo = make_repo(tmp_path / "repo")
    proposal = make_proposal(repo=repo)
    results = _race(
        proposal,
        [
            {"actor": reviewer, "verdict": "approve"},
            {"actor": reviewer2, "verdict": "reject", "reason": "unsafe", "comment": "no"},
        ],
    )
    won, lost = _split(results)
    assert len(won) == 1 and len(lost) == 1
    winner = won[0]
    assert Decision.objects.get().pk == winner.pk
    proposal.refresh_from_db()
    finding = Finding.objects.get(pk=proposal.finding_id)
    stats = SkillStats.objects.get(version=None)
    if winner.verdict == "approve":
        assert proposal.status == Proposal.Status.APPROVED
        assert finding.status == Finding.Status.FIXED
        assert fix_branches(repo) == [f"wattson/{proposal.finding_id}-r1"]
        assert (stats.approved, stats.rejected) == (1, 0)
    else:
        assert proposal.status == Proposal.Status.REJECTED
        assert finding.status == Finding.Status.REJECTED
        assert fix_branches(repo) == []
        assert (stats.approved, stats.rejected) == (0, 1)


@pytest.mark.django_db(transaction=True)
def test_many_reviewers_rejecting_at_once_record_one_rejection(
    django_user_model, tmp_path, reviewer, reviewer2, skill_admin
):
    proposal = make_proposal(repo=None, diff="")
    actors = [reviewer, reviewer2, skill_admin]
    results = _race(
        proposal,
        [
            {"actor": actor, "verdict": "reject", "reason": "duplicate", "comment": "dup"}
            for actor in actors
        ],
    )
    won, lost = _split(results)
    assert len(won) == 1 and len(lost) == 2
    assert Decision.objects.count() == 1
    stats = SkillStats.objects.get(version=None)
    assert stats.rejected == 1
    assert stats.rejection_reasons == {"duplicate": 1}
