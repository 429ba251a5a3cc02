"""Found by bench/load.py: on PostgreSQL a reviewer in no team got a 500 from the reports page
(the team filter matches nothing, and the exact-percentile query could not be built)."""

from __future__ import annotations

from django.contrib.auth.models import Group

from reviews.roles import REVIEWER


def test_a_reviewer_in_no_team_sees_an_empty_report(client, django_user_model, db):
    user = django_user_model.objects.create_user("lonely-reviewer")
    user.groups.add(Group.objects.get_or_create(name=REVIEWER)[0])
    client.force_login(user)
    assert client.get("/reports/").status_code == 200
    response = client.get("/api/v1/reports/savings/")
    assert response.status_code == 200
    assert response.json()["times"]["finding_to_proposal_p50_s"] is None
