"""Skill quality feedback: decisions update SkillStats atomically; a rebuild gives the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from reviews.models import Decision, Proposal
from reviews.selectors.skill_decisions import latest_rejections
from reviews.services.decisions import DecisionConflict, proposal_decide
from skills import services as skill_services
from skills.gitio import GitError
from skills.models import Skill, SkillStats
from skills.services import (
    skill_stats_record,
    wilson_bounds,
    wilson_lower_bound,
)
from tests.reviews.gate_helpers import make_proposal, make_repo, make_skill

STATS_FIELDS = [
    "skill_id",
    "version_id",
    "approved",
    "rejected",
    "changes_requested",
    "rejection_reasons",
    "acceptance_rate",
    "wilson_lower",
    "banked_watts",
    "median_decision_seconds",
    "decision_seconds",
]


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def _rows() -> list[dict]:
    return list(SkillStats.objects.order_by("skill_id", "version_id").values(*STATS_FIELDS))


def test_wilson_bounds_match_known_values():
    assert wilson_bounds(0, 0) is None
    lower, upper = wilson_bounds(8, 10)
    assert lower == pytest.approx(0.4902, abs=1e-4)
    assert upper == pytest.approx(0.9433, abs=1e-4)
    assert wilson_lower_bound(0, 5) == 0.0
    # More evidence for the same rate narrows the interval.
    assert wilson_lower_bound(80, 100) > wilson_lower_bound(8, 10)


@pytest.mark.django_db
def test_record_counts_per_skill_and_per_version():
    skill = make_skill("precompile-regex")
    v1 = skill.current_version
    skill.mitigation = "Compile once at module level."
    skill.save()
    v2 = skill.current_version
    assert v1.pk != v2.pk
    skill_stats_record(skill_version_id=v1.pk, verdict="approve", watts=100.0, decision_seconds=60)
    skill_stats_record(
        skill_version_id=v2.pk, verdict="reject", reason="readability", decision_seconds=120
    )
    skill_stats_record(skill_version_id=v2.pk, verdict="request_changes", decision_seconds=30)

    whole = SkillStats.objects.get(skill=skill, version=None)
    assert (whole.approved, whole.rejected, whole.changes_requested) == (1, 1, 1)
    assert whole.rejection_reasons == {"readability": 1}
    assert whole.acceptance_rate == 0.5
    assert whole.banked_watts == 100.0
    assert whole.median_decision_seconds == 60.0
    assert whole.wilson_lower == pytest.approx(wilson_lower_bound(1, 2))
    first = SkillStats.objects.get(skill=skill, version=v1)
    assert (first.approved, first.rejected, first.acceptance_rate) == (1, 0, 1.0)
    second = SkillStats.objects.get(skill=skill, version=v2)
    assert (second.approved, second.rejected, second.changes_requested) == (0, 1, 1)
    assert second.acceptance_rate == 0.0
    assert second.median_decision_seconds == 75.0


@pytest.mark.django_db
def test_decisions_feed_stats_and_rebuild_gives_identical_rows(
    repo, reviewer, reviewer2, skill_admin
):
    # A mix: approvals (one with measured watts), rejections with reasons, changes requested,
    # an override, across two skills and two versions of one of them.
    memo = make_skill("memoize")
    plan = [
        ("memoize", reviewer, "approve", "", {"estimated_watts": 100.0}),
        ("memoize", reviewer2, "approve", "", {"measured_watts": 42.5}),
        ("memoize", reviewer, "reject", "no_measurable_gain", {}),
        ("string-join", reviewer, "reject", "incorrect", {}),
        ("string-join", reviewer2, "request_changes", "", {}),
        ("string-join", skill_admin, "approve", "", {"tests_passed": False}),
    ]
    for index, (slug, actor, verdict, reason, extra) in enumerate(plan):
        if index == 3:
            memo.instructions = "Only pure functions."
            memo.save()  # memoize v2 from here on (not used by string-join)
        proposal = make_proposal(repo=repo, skill_slug=slug, **extra)
        proposal_decide(
            proposal=proposal,
            actor=actor,
            verdict=verdict,
            reason=reason,
            comment="see review" if verdict != "approve" else "",
            override_reason="flaky runner" if extra.get("tests_passed") is False else "",
        )
    memo_stats = SkillStats.objects.get(skill=memo, version=None)
    assert (memo_stats.approved, memo_stats.rejected) == (2, 1)
    assert memo_stats.banked_watts == 100.0 + 42.5
    assert memo_stats.rejection_reasons == {"no_measurable_gain": 1}
    assert memo_stats.median_decision_seconds is not None
    join_stats = SkillStats.objects.get(skill__slug="string-join", version=None)
    assert (join_stats.approved, join_stats.rejected, join_stats.changes_requested) == (1, 1, 1)

    incremental = _rows()
    assert len(incremental) == 4  # memoize, memoize v1, string-join, string-join v1
    SkillStats.objects.update(approved=99, banked_watts=0, decision_seconds=[])
    call_command("rebuild_skill_stats")
    assert _rows() == incremental


@pytest.mark.django_db
def test_rebuild_command_json(capsys, repo, reviewer):
    proposal = make_proposal(repo=repo, skill_slug="memoize")
    proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    call_command("rebuild_skill_stats", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["decisions"] == 1
    assert out["rows"] == 2
    assert {row["skill"] for row in out["skills"]} == {"memoize"}


@pytest.mark.django_db
def test_a_skill_rejected_often_enough_needs_attention(settings, repo, reviewer):
    settings.WATTSON_ATTENTION_MIN_DECISIONS = 5
    settings.WATTSON_ATTENTION_MAX_LOWER_BOUND = 0.2
    skill = make_skill("hoist-loop-invariant")
    for number in range(5):
        assert not Skill.objects.get(pk=skill.pk).needs_attention, number
        proposal = make_proposal(repo=None, diff="", skill_slug=skill.slug)
        Proposal.objects.filter(pk=proposal.pk).update(is_analysis=True)
        # An analysis judged not useful counts against its skill like a rejection.
        proposal_decide(proposal=proposal, actor=reviewer, verdict="not_useful", comment="no")
    assert Skill.objects.get(pk=skill.pk).needs_attention
    # The rebuild agrees, and clears the flag when the settings forgive more.
    settings.WATTSON_ATTENTION_MIN_DECISIONS = 6
    call_command("rebuild_skill_stats")
    assert not Skill.objects.get(pk=skill.pk).needs_attention


@pytest.mark.django_db
def test_stats_roll_back_with_a_failed_decision(monkeypatch, repo, reviewer):
    proposal = make_proposal(repo=repo, skill_slug="memoize")

    def refuse(**kwargs):
        raise GitError("cannot lock ref")

    monkeypatch.setattr("reviews.patches.fix_branch_create", refuse)
    with pytest.raises(DecisionConflict, match="cannot lock ref"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    assert not SkillStats.objects.exists()
    assert not Decision.objects.exists()
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PENDING


@pytest.mark.django_db
def test_latest_rejections_show_comments_newest_first(repo, reviewer, reviewer2):
    for actor, comment in ((reviewer, "first"), (reviewer2, "second")):
        proposal = make_proposal(repo=repo, skill_slug="membership-set")
        proposal_decide(
            proposal=proposal, actor=actor, verdict="reject", reason="other", comment=comment
        )
    rows = latest_rejections("membership-set", 10)
    assert [(row["comment"], row["reviewer"]) for row in rows] == [
        ("second", "ravi"),
        ("first", "rita"),
    ]
    assert rows[0]["reason"] == "other"
    assert latest_rejections("membership-set", 1)[0]["comment"] == "second"
    assert latest_rejections("memoize", 10) == []


def test_skills_does_not_import_reviews_models_at_module_level():
    source = Path(skill_services.__file__).read_text()
    assert "from reviews" not in source
    assert "import reviews" not in source


@pytest.mark.django_db
def test_skill_admin_shows_latest_rejections_escaped(admin_client, repo, reviewer):
    proposal = make_proposal(repo=repo, skill_slug="string-join")
    proposal_decide(
        proposal=proposal,
        actor=reviewer,
        verdict="reject",
        reason="readability",
        comment="<script>alert(1)</script> the join hides the intent",
    )
    skill = Skill.objects.get(slug="string-join")
    page = admin_client.get(reverse("admin:skills_skill_change", args=[skill.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Latest rejections" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; the join hides the intent" in html
    assert "<script>alert(1)</script>" not in html
