"""The skill admin: superusers list, search, filter and toggle skills; others get nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from skills.models import Skill, SkillStats, SkillVersion

CHANGELIST = "admin:skills_skill_changelist"


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(user)
    return client


def listed(client, **params) -> set[str]:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return {skill.slug for skill in response.context["cl"].result_list}


@pytest.mark.django_db
def test_list_search_and_filters(admin_client_):
    everything = listed(admin_client_)
    assert {"precompile-regex", "memoize", "revert-hunk", "lock-contention"} <= everything
    assert listed(admin_client_, q="regular expression") == {"precompile-regex"}
    diagnosis = listed(admin_client_, codemod="__none__")
    assert "lock-contention" in diagnosis and "precompile-regex" not in diagnosis
    assert listed(admin_client_, codemod="memoize") == {"memoize"}
    defense = listed(admin_client_, side__exact="defense")
    assert "revert-hunk" in defense and "membership-set" not in defense
    Skill.objects.filter(slug="memoize").update(needs_attention=True)
    assert listed(admin_client_, needs_attention__exact="1") == {"memoize"}


@pytest.mark.django_db
def test_change_page_shows_versions_and_stats_read_only(admin_client_):
    skill = Skill.objects.get(slug="memoize")
    SkillStats.objects.create(
        skill=skill,
        approved=7,
        rejected=3,
        acceptance_rate=0.7,
        wilson_lower=0.4,
        banked_watts=1234,
    )
    page = admin_client_.get(reverse("admin:skills_skill_change", args=[skill.pk])).content
    text = page.decode()
    assert "0.4" in text and "1234" in text.replace(",", "")
    assert 'name="versions-0-instructions"' not in text  # history is not editable
    listing = admin_client_.get(reverse(CHANGELIST)).content.decode()
    assert "70% of 10" in listing and "0.40" in listing


@pytest.mark.django_db
def test_disable_and_enable_actions(admin_client_):
    ids = list(
        Skill.objects.filter(slug__in=["memoize", "string-join"]).values_list("pk", flat=True)
    )
    response = admin_client_.post(
        reverse(CHANGELIST), {"action": "disable_skills", "_selected_action": ids}, follow=True
    )
    assert "2 skills disabled" in response.content.decode()
    assert not Skill.objects.filter(pk__in=ids, enabled=True).exists()
    assert Skill.objects.get(slug="memoize").versions.count() == 1  # toggling is not a version
    admin_client_.post(reverse(CHANGELIST), {"action": "enable_skills", "_selected_action": ids})
    assert Skill.objects.filter(pk__in=ids, enabled=True).count() == 2


@pytest.mark.django_db
def test_an_admin_edit_makes_a_new_version(admin_client_):
    skill = Skill.objects.get(slug="string-join")
    url = reverse("admin:skills_skill_change", args=[skill.pk])
    form = {
        "slug": skill.slug,
        "name": skill.name,
        "side": skill.side,
        "description": skill.description,
        "owner": skill.owner,
        "enabled": "on",
        "trigger": '{"kinds": ["regression"]}',
        "instructions": skill.instructions + "\nNew step.",
        "mitigation": skill.mitigation,
        "codemod": skill.codemod,
        "expected_recovery": "0.65",
    }
    for prefix in ("stats", "versions"):
        count = (skill.stats if prefix == "stats" else skill.versions).count()
        form.update(
            {
                f"{prefix}-TOTAL_FORMS": str(count),
                f"{prefix}-INITIAL_FORMS": str(count),
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    for index, version in enumerate(skill.versions.order_by("-number")):
        form[f"versions-{index}-id"] = str(version.pk)
        form[f"versions-{index}-skill"] = str(skill.pk)
    response = admin_client_.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    latest = skill.versions.order_by("-number").first()
    assert latest.number == 2 and latest.expected_recovery == 0.65
    assert latest.trigger == {"kinds": ["regression"]}


@pytest.mark.django_db
def test_version_admin_is_read_only(admin_client_):
    version = SkillVersion.objects.get(skill__slug="memoize", number=1)
    assert admin_client_.get(reverse("admin:skills_skillversion_add")).status_code == 403
    delete = reverse("admin:skills_skillversion_delete", args=[version.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403
    assert SkillVersion.objects.filter(pk=version.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["outsider", "reviewer", "manager", None])
def test_non_staff_cannot_list_or_act(request, client, persona):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    url = reverse(CHANGELIST)
    assert client.get(url).status_code == 302  # to the admin login
    ids = list(Skill.objects.values_list("pk", flat=True))
    response = client.post(url, {"action": "disable_skills", "_selected_action": ids})
    assert response.status_code == 302
    assert not Skill.objects.filter(enabled=False).exists()
