"""Seeded skills and their immutable versions."""

from __future__ import annotations

import pytest

from skills.catalog import SEED_SKILLS
from skills.codemods import REGISTRY
from skills.models import Skill, SkillVersion


@pytest.mark.django_db
def test_seed_creates_every_skill_with_a_first_version():
    slugs = {seed["slug"] for seed in SEED_SKILLS}
    assert slugs <= set(Skill.objects.values_list("slug", flat=True))
    for skill in Skill.objects.filter(slug__in=slugs):
        version = skill.versions.get()
        assert version.number == 1
        assert version.instructions == skill.instructions and version.trigger == skill.trigger


@pytest.mark.django_db
def test_seeded_codemods_are_registered_and_diagnosis_skills_have_none():
    codemods = {s["codemod"] for s in SEED_SKILLS if s["codemod"]}
    assert codemods == set(REGISTRY)
    diagnosis = Skill.objects.filter(codemod="")
    assert diagnosis.count() >= 2
    assert all(skill.is_diagnosis_only for skill in diagnosis)
    for seed in SEED_SKILLS:
        assert seed["trigger"]["metrics"] == ["cpu"] and 0 < seed["expected_recovery"] <= 1
        assert "## " in seed["instructions"]


@pytest.mark.django_db
def test_a_change_makes_a_new_version_and_a_no_op_save_does_not():
    skill = Skill.objects.get(slug="memoize")
    skill.save()
    assert skill.versions.count() == 1
    skill.enabled = False  # not part of a version: the content did not change
    skill.save()
    assert skill.versions.count() == 1
    skill.instructions += "\nAlso check the cache hit rate."
    skill.expected_recovery = 0.55
    skill.save()
    latest = Skill.objects.get(pk=skill.pk).current_version
    assert latest.number == 2
    assert latest.instructions.endswith("cache hit rate.") and latest.expected_recovery == 0.55
    first = skill.versions.get(number=1)
    assert "cache hit rate" not in first.instructions


@pytest.mark.django_db
def test_versions_are_immutable():
    version = SkillVersion.objects.get(skill__slug="precompile-regex", number=1)
    version.instructions = "rewritten history"
    with pytest.raises(ValueError, match="immutable"):
        version.save()
    assert SkillVersion.objects.get(pk=version.pk).instructions != "rewritten history"


@pytest.mark.django_db
def test_re_running_the_seed_keeps_admin_edits_and_adds_missing_skills():
    import importlib

    from django.apps import apps

    seed = importlib.import_module("skills.migrations.0003_seed_skills").seed_skills
    edited = Skill.objects.get(slug="memoize")
    edited.instructions = "Our own checklist."
    edited.save()
    Skill.objects.filter(slug="lock-contention").delete()
    seed(apps, None)
    assert Skill.objects.get(slug="memoize").instructions == "Our own checklist."
    restored = Skill.objects.get(slug="lock-contention")
    assert restored.versions.get().number == 1 and restored.codemod == ""
