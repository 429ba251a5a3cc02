"""Ingest payloads as properties: any finding the schema admits is stored (201, then 200 for the
same body again); a near-miss (one field wrong) is a 400 naming that field; nothing is a 500."""

from __future__ import annotations

import itertools
import json

import pytest
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from reviews.models import Finding
from reviews.roles import INGEST

URL = "/api/v1/findings/"
# Examples share one test's database: each finding gets a key no earlier example used.
_keys = itertools.count()
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a finding may hold: any Unicode but surrogates and NUL (the schema documents both).
text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))


def bounded(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        min_size=min_size,
        max_size=max_size,
    )


numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
json_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | numbers | text
evidence = st.dictionaries(
    bounded(0, 20),
    st.recursive(
        json_leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(bounded(0, 10), inner),
        max_leaves=8,
    ),
    max_size=4,
)
function = st.fixed_dictionaries(
    {"symbol": bounded(0, 80)},
    optional={
        "file": bounded(0, 80),
        "line": st.integers(1, 10**9),
        "cpu_share_pct": st.floats(0, 100),
    },
)
finding = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["regression", "opportunity"]),
        "external_id": bounded(1, 200),
        "source": bounded(1, 100),
        "service": bounded(1, 200),
        "title": bounded(1, 300),
        "metric": bounded(0, 50),
        "magnitude_pct": st.floats(0, 100, exclude_min=True),
        "functions": st.lists(function, min_size=1, max_size=5),
    },
    optional={
        "baseline": numbers,
        "current": numbers,
        "confidence": st.floats(0, 1),
        "detected_at": st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        "root_cause": st.fixed_dictionaries(
            {"commit": st.from_regex(r"\A[0-9a-f]{7,64}\Z")},
            optional={"title": bounded(0, 200), "author": bounded(0, 100)},
        ),
        "pattern": bounded(0, 50),
        "evidence": evidence,
    },
)

# One field made wrong, each way the schema forbids; the 400 must name that field.
NEAR_MISSES = {
    "kind": [st.just("incident"), st.integers()],
    "magnitude_pct": [st.just(0), st.floats(100, 1e9, exclude_min=True), st.just("2.5")],
    "title": [st.just(""), bounded(301, 320), st.none()],
    "external_id": [st.just(""), st.lists(st.integers(), max_size=2)],
    "functions": [st.just([]), st.just("feed.parse")],
    "confidence": [st.floats(1, 10, exclude_min=True), st.floats(-10, 0, exclude_max=True)],
    "detected_at": [st.just("yesterday"), st.just("2026-01-31T12:00:00")],
    "metric": [bounded(51, 60)],
}
near_miss = st.sampled_from(sorted(NEAR_MISSES)).flatmap(
    lambda name: st.tuples(st.just(name), st.one_of(NEAR_MISSES[name]))
)


@pytest.fixture
def post(db, client, django_user_model, settings):
    settings.WATTSON_INGEST_RATE = "100000/min"
    settings.WATTSON_AUTO_SOLVE = False
    user = django_user_model.objects.create_user(username="prop-bot")
    user.groups.add(Group.objects.get_or_create(name=INGEST)[0])
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}

    def send(body: object):
        raw = json.dumps(body).encode()
        return client.post(URL, data=raw, content_type="application/json", headers=headers)

    return send


@PROPERTY_SETTINGS
@given(data=finding)
def test_any_finding_the_schema_admits_is_stored_once(post, data):
    data["external_id"] = f"{next(_keys)}:{data['external_id']}"[:200]
    first = post(data)
    assert first.status_code in (200, 201), first.content
    again = post(data)
    assert again.status_code == 200, again.content
    stored = Finding.objects.get(source=data["source"], external_id=data["external_id"])
    assert stored.title == data["title"]


@PROPERTY_SETTINGS
@given(data=finding, miss=near_miss)
def test_a_near_miss_is_refused_naming_its_field(post, data, miss):
    name, value = miss
    data["external_id"] = f"{next(_keys)}:{data['external_id']}"[:200]
    response = post({**data, name: value})
    assert response.status_code == 400, response.content
    fields = {error["field"] for error in response.json()["errors"]}
    assert name in fields, response.json()


@PROPERTY_SETTINGS
@given(
    body=st.recursive(
        json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner)
    )
)
def test_any_json_at_all_is_answered_never_with_a_500(post, body):
    response = post(body)
    assert response.status_code in (200, 201, 400, 409), response.content
    assert "detail" in response.json()
