"""A skill-admin curates skills in the Django admin without being made staff; others can't."""

import pytest

from skills.models import Skill


@pytest.mark.django_db
def test_skill_admin_edits_a_skill_and_a_version_is_recorded(skill_admin, client_for):
    assert not skill_admin.is_staff
    client = client_for(skill_admin)
    skill = Skill.objects.get(slug="memoize")
    versions_before = skill.versions.count()
    page = client.get(f"/admin/skills/skill/{skill.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    data["trigger"] = page.context["adminform"].form["trigger"].value()
    data["expected_recovery"] = "0.42"
    data.update(_inline_management(page.context))
    response = client.post(f"/admin/skills/skill/{skill.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].errors
    skill.refresh_from_db()
    assert skill.expected_recovery == pytest.approx(0.42)
    assert skill.versions.count() == versions_before + 1


def _inline_management(context) -> dict:
    data = {}
    for formset in context.get("inline_admin_formsets", []):
        prefix = formset.formset.prefix
        management = formset.formset.management_form
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[f"{prefix}-{name}"] = management[name].value()
        for index, form in enumerate(formset.formset.forms):
            for name in form.fields:
                value = form[name].value()
                data[f"{prefix}-{index}-{name}"] = "" if value is None else value
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["reviewer", "manager", "outsider"])
def test_other_roles_cannot_enter_the_admin(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    response = client.get("/admin/skills/skill/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
