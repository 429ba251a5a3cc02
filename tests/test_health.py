"""/healthz and /readyz: what a load balancer sees, without logging in."""

from __future__ import annotations

import pytest
from django_q.status import Stat

from reviews.models import AuditEvent


@pytest.fixture
def worker_heartbeat(monkeypatch):
    """A qcluster that has reported in (what Stat.get_all reads from the broker's store)."""
    monkeypatch.setattr(Stat, "get_all", staticmethod(lambda broker=None: ["cluster"]))


def test_healthz_answers_ok_without_touching_the_database(client):
    # No db fixture: any query would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.django_db
def test_readyz_is_ready_with_database_broker_and_a_worker(client, worker_heartbeat):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ready"] is True and body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "workers"}
    assert body["audit"]["ok"] is True


@pytest.mark.django_db
def test_readyz_names_missing_workers(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["workers"]
    assert "heartbeat" in body["checks"]["workers"]["detail"]


@pytest.mark.django_db
def test_readyz_names_an_unreachable_redis_broker(client, settings, worker_heartbeat):
    settings.WATTSON_BROKER = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert "Connection" in response.json()["checks"]["broker"]["detail"]


@pytest.mark.django_db
def test_readyz_reports_a_broken_audit_chain_without_leaving_rotation(
    client, worker_heartbeat, django_capture_on_commit_callbacks
):
    from reviews.services.audit import audit_record

    with django_capture_on_commit_callbacks(execute=True):
        event = audit_record(actor=None, verb="x.y", target=AuditEvent(pk=1))
    AuditEvent.objects.filter(pk=event.pk).update(verb="x.z")
    response = client.get("/readyz")
    assert response.status_code == 200
    audit = response.json()["audit"]
    assert audit["ok"] is False and audit["problems"][0]["id"] == event.pk


@pytest.mark.django_db
def test_probes_are_not_redirected_to_https_in_production(client, settings, worker_heartbeat):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301


@pytest.mark.django_db
def test_the_default_cache_is_shared_through_the_database():
    from django.core.cache import cache
    from django.db import connection

    # What one web or worker process stores, another reads: it is a table, not this process's
    # memory (rendered diffs, django-q2's heartbeats for the ORM broker).
    cache.set("wattson-shared-check", "yes", 60)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM wattson_cache")
        assert cursor.fetchone()[0] >= 1
