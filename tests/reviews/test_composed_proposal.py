"""A proposal composed of two skills' changes (issue #12 item 5): both skills are recorded with
their versions, shown on the proposal page, and each one's statistics get the decision."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse

from reviews.models import Finding, Proposal, Repository, Service
from reviews.services.decisions import proposal_decide
from skills.models import Skill, SkillStats
from tests.reviews.gate_helpers import make_repo, make_skill
from tests.reviews.record_helpers import fix, resolve


@pytest.fixture(autouse=True)
def _work_dir(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"


@pytest.fixture
def composed(db, tmp_path) -> Proposal:
    repo = make_repo(tmp_path / "repo")
    row = Repository.objects.create(name="invoice", path=str(repo))
    service = Service.objects.create(name="billing", repository=row)
    for slug in ("memoize", "string-join", "precompile-regex"):
        make_skill(slug)
    finding = Finding.objects.create(
        kind=Finding.Kind.REGRESSION,
        source="test",
        external_id=uuid.uuid4().hex,
        payload_sha256="0" * 64,
        service=service,
        repository=row,
        title="total() got slower",
        metric="cpu",
        magnitude_pct=2.5,
    )
    resolve(finding, fix(repo, skill="memoize", also=("string-join",), watts=300.0))
    return finding.proposals.get(is_current=True)


def _skill_stats(slug: str) -> SkillStats | None:
    return SkillStats.objects.filter(skill__slug=slug, version__isnull=True).first()


def test_every_skill_of_a_composed_proposal_is_recorded_with_its_version(composed):
    assert composed.skill_slugs == ["memoize", "string-join"]
    part = composed.composed_skills.get()
    assert part.skill_version == Skill.objects.get(slug="string-join").current_version


def test_a_decision_counts_for_each_composed_skill_and_the_rebuild_agrees(composed, reviewer):
    proposal_decide(proposal=composed, actor=reviewer, verdict="approve")

    live = {slug: _skill_stats(slug) for slug in ("memoize", "string-join", "precompile-regex")}
    assert live["memoize"].approved == 1 and live["string-join"].approved == 1
    assert live["precompile-regex"] is None
    # The patch banked 300 W together: each skill is credited its share, the sum stays 300 W.
    assert live["memoize"].banked_watts + live["string-join"].banked_watts == pytest.approx(300)
    version_rows = SkillStats.objects.filter(version__isnull=False, skill__slug="string-join")
    assert version_rows.get().approved == 1

    fields = ("skill__slug", "version_id", "approved", "banked_watts")
    before = set(SkillStats.objects.values_list(*fields))
    call_command("rebuild_skill_stats")
    assert set(SkillStats.objects.values_list(*fields)) == before


def test_a_rejection_counts_against_each_composed_skill(composed, reviewer):
    proposal_decide(proposal=composed, actor=reviewer, verdict="reject", reason="incorrect")
    for slug in ("memoize", "string-join"):
        stats = _skill_stats(slug)
        assert (stats.approved, stats.rejected) == (0, 1)
        assert stats.rejection_reasons == {"incorrect": 1}


def test_the_proposal_page_names_both_skills(composed, reviewer, client_for):
    page = client_for(reviewer).get(reverse("reviews:proposal", args=[composed.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-composed-skill="string-join"' in text
    assert "<code>memoize</code>" in text and "<code>string-join</code>" in text
    assert "the decision counts for each skill" in text
