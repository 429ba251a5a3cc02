"""Review statistics steer the solver only once a skill has enough decisions."""

import pytest

from reviews.services.solve_context import skill_specs
from skills.models import Skill, SkillStats
from skills.solver.types import SkillSpec


def _spec(slug: str) -> SkillSpec:
    return next(spec for spec in skill_specs() if spec.slug == slug)


@pytest.mark.django_db
def test_one_approval_does_not_bury_a_skill_below_untried_ones(settings):
    settings.WATTSON_ATTENTION_MIN_DECISIONS = 5
    skill = Skill.objects.get(slug="memoize")
    SkillStats.objects.create(skill=skill, approved=1, rejected=0, wilson_lower=0.2065)
    assert _spec("memoize").quality_lower_bound is None  # the prior applies


@pytest.mark.django_db
def test_enough_decisions_rank_by_the_wilson_lower_bound(settings):
    settings.WATTSON_ATTENTION_MIN_DECISIONS = 5
    skill = Skill.objects.get(slug="memoize")
    SkillStats.objects.create(skill=skill, approved=5, rejected=1, wilson_lower=0.4365)
    assert _spec("memoize").quality_lower_bound == pytest.approx(0.4365)
