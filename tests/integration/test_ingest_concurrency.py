"""Concurrent ingest on PostgreSQL: one key, one finding, whatever the race."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.test import Client
from rest_framework.authtoken.models import Token

from reviews.models import AuditEvent, Finding, Service, Source
from reviews.roles import INGEST

URL = "/api/v1/findings/"


def finding(external_id: str, service: str = "race-service") -> dict:
    return {
        "kind": "regression",
        "external_id": external_id,
        "source": "race-detector",
        "service": service,
        "title": "slower",
        "metric": "cpu",
        "magnitude_pct": 1.5,
        "functions": [{"symbol": "pkg.mod.func"}],
    }


@pytest.fixture
def token(django_user_model) -> str:
    user = django_user_model.objects.create_user(username="race-bot")
    user.groups.add(Group.objects.get_or_create(name=INGEST)[0])
    return Token.objects.create(user=user).key


def post_concurrently(token: str, bodies: list[bytes]) -> list[tuple[int, dict]]:
    """Send every body at once from its own thread (and its own database connection)."""
    barrier = threading.Barrier(len(bodies))

    def send(body: bytes) -> tuple[int, dict]:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.post(
                URL,
                data=body,
                content_type="application/json",
                headers={"Authorization": f"Token {token}"},
            )
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_posts_of_one_key_make_one_finding(token):
    body = json.dumps(finding("same-key")).encode()

    results = post_concurrently(token, [body] * 20)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 19 + [201]
    assert len({data["id"] for _, data in results}) == 1
    assert Finding.objects.count() == 1
    assert Service.objects.filter(name="race-service").count() == 1
    assert Source.objects.filter(name="race-detector").count() == 1
    assert AuditEvent.objects.filter(verb="finding.ingest").count() == 1


@pytest.mark.django_db(transaction=True)
def test_overlapping_concurrent_batches_store_each_key_once(token):
    # Eight batches of 20 keys, each overlapping the next by half, on four new services.
    bodies = [
        json.dumps(
            [finding(f"k{n}", service=f"svc-{n % 4}") for n in range(i * 10, i * 10 + 20)]
        ).encode()
        for i in range(8)
    ]

    results = post_concurrently(token, bodies)

    assert all(status in (200, 201) for status, _ in results), results
    created = [pk for _, data in results for pk in data["created"]]
    assert len(created) == len(set(created)) == Finding.objects.count() == 90
    assert Service.objects.filter(name__startswith="svc-").count() == 4
    for _, data in results:
        assert len(data["created"]) + len(data["existing"]) == 20
