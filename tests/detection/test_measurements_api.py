"""POST /api/v1/histories/ and /api/v1/profiles/: ingest accounts only, idempotent, fields named."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from reviews.models import Point, ProfileWindow, Series
from tests.detection.helpers import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest_client(django_user_model) -> APIClient:
    bot = django_user_model.objects.create_user("sentinel-bot")
    bot.groups.add(Group.objects.get_or_create(name="ingest")[0])
    client = APIClient()
    client.force_authenticate(bot)
    return client


def _post(client: APIClient, url: str, body: bytes):
    return client.generic("POST", url, body, content_type="application/octet-stream")


def test_an_ingest_account_posts_a_history_once(ingest_client):
    body = (FIXTURES / "history.csv").read_bytes()
    url = "/api/v1/histories/?format=csv&service=billing"
    first = _post(ingest_client, url, body)
    assert first.status_code == 201
    assert first.json()["points_created"] == 3
    again = _post(ingest_client, url, body)
    assert again.status_code == 200
    assert again.json()["points_existing"] == 3
    assert Point.objects.count() == 3
    assert set(Series.objects.values_list("service", flat=True)) == {"billing"}


def test_an_asv_result_file_is_read_by_asv(ingest_client):
    body = next((FIXTURES / "asv" / "results" / "ci-box").glob("aaaa*.json")).read_bytes()
    response = _post(ingest_client, "/api/v1/histories/?format=asv&service=s", body)
    assert response.status_code == 201 and response.json()["points_created"] == 3


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/histories/?format=xml&service=s", b"", "format"),
        ("/api/v1/histories/?format=csv", b"time,commit,series,value\n", "service"),
        ("/api/v1/histories/?format=csv&service=s&repository=nope", b"", "repository"),
        (
            "/api/v1/histories/?format=csv&service=s",
            b"time,commit,series,value\n2024-01-01,abc1234,render,NaN\n",
            ("line 2", "value"),
        ),
        (
            "/api/v1/histories/?format=pytest-benchmark&service=s",
            b"{}",
            ("upload.json", "benchmarks"),
        ),
        (
            "/api/v1/profiles/?format=folded&service=s&start=2024-01-01&end=soon",
            b"a;b 1\n",
            "end",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(ingest_client, url, body, field):
    response = _post(ingest_client, url, body)
    assert response.status_code == 400
    where, field = field if isinstance(field, tuple) else ("", field)
    assert (response.json()["where"], response.json()["field"]) == (where, field)
    assert not Point.objects.exists() and not ProfileWindow.objects.exists()


def test_a_history_resent_with_other_values_is_a_409(ingest_client):
    url = "/api/v1/histories/?format=csv&service=s"
    _post(ingest_client, url, b"time,commit,series,value\n2024-01-01,abc1234,render,1.0\n")
    response = _post(
        ingest_client, url, b"time,commit,series,value\n2024-01-01,abc1234,render,2.0\n"
    )
    assert response.status_code == 409
    assert list(Point.objects.values_list("value", flat=True)) == [1.0]


def test_a_profile_window_is_stored_once(ingest_client):
    body = (FIXTURES / "stacks.folded").read_bytes()
    url = (
        "/api/v1/profiles/?format=folded&service=s&commit=abc1234"
        "&start=2024-01-01T00:00:00Z&end=2024-01-01T01:00:00Z"
    )
    first = _post(ingest_client, url, body)
    assert first.status_code == 201 and first.json()["functions"] == 4
    assert _post(ingest_client, url, body).status_code == 200
    assert ProfileWindow.objects.count() == 1


@pytest.mark.parametrize("persona", ["reviewer", "manager"])
def test_people_may_not_post_measurements(request, persona):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(persona))
    body = (FIXTURES / "history.csv").read_bytes()
    for url in ("/api/v1/histories/?format=csv&service=s", "/api/v1/profiles/?format=folded"):
        assert _post(client, url, body).status_code == 403
        assert client.get(url).status_code == 405
    assert not Point.objects.exists()
