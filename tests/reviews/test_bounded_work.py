"""Bounded work: auto-solve de-duplicates and caps; ingest posts and logins are rate-limited."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from reviews.models import Finding, Repository, Service, SolveRun
from reviews.roles import INGEST
from reviews.services.ingest import finding_ingest
from reviews.tasks import sweep_solve_runs
from tests.conftest import PASSWORD
from tests.reviews.gate_helpers import make_repo


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_AUTO_SOLVE = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Queue only: no broker, no worker.
    monkeypatch.setattr("reviews.services.solving.solve_run_enqueue", lambda **kwargs: None)


@pytest.fixture
def service(db, tmp_path):
    repository = Repository.objects.create(name="feed", path=str(make_repo(tmp_path / "repo")))
    return Service.objects.create(name="feed", repository=repository)


def finding(symbol: str, *, source: str = "perf-sentinel", commit: str = "abc1234") -> dict:
    return {
        "kind": "regression",
        "external_id": uuid.uuid4().hex,
        "source": source,
        "service": "feed",
        "title": f"{symbol} got slower",
        "metric": "cpu",
        "magnitude_pct": 2.5,
        "functions": [{"symbol": symbol, "file": "feed/skus.py"}],
        "root_cause": {"commit": commit},
    }


def _ingest(items: list[dict]) -> list[Finding]:
    with_hooks = finding_ingest(payload=items, actor=None)
    assert with_hooks.ok, with_hooks.errors
    return list(Finding.objects.filter(pk__in=with_hooks.created).order_by("pk"))


@pytest.mark.django_db(transaction=True)
def test_identical_findings_are_solved_once_the_others_say_why(service):
    _ingest([finding("feed.parse") for _ in range(3)])
    assert SolveRun.objects.count() == 1
    solving = Finding.objects.get(status=Finding.Status.SOLVING)
    duplicates = Finding.objects.filter(solve_waiting=Finding.SolveWaiting.DUPLICATE)
    assert duplicates.count() == 2
    assert all(f"#{solving.pk}" in d.solve_waiting_note for d in duplicates)
    # Another function, or another root cause, is not a duplicate.
    _ingest([finding("feed.other"), finding("feed.parse", commit="def5678")])
    assert SolveRun.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_caps_per_source_and_in_total_and_the_sweeper_queues_the_rest(service, settings):
    settings.WATTSON_AUTO_SOLVE_MAX_PER_SOURCE = 2
    settings.WATTSON_AUTO_SOLVE_MAX_QUEUED = 3
    _ingest([finding(f"feed.f{i}") for i in range(4)])
    assert SolveRun.objects.count() == 2
    waiting = Finding.objects.filter(solve_waiting=Finding.SolveWaiting.CAP)
    assert waiting.count() == 2
    assert "perf-sentinel" in waiting.first().solve_waiting_note
    _ingest([finding("feed.g0", source="profiler"), finding("feed.g1", source="profiler")])
    assert SolveRun.objects.count() == 3  # the total cap
    assert "WATTSON_AUTO_SOLVE_MAX_QUEUED" in (
        Finding.objects.filter(source="profiler", solve_waiting="cap").get().solve_waiting_note
    )

    assert sweep_solve_runs()["released"] == []  # still no room
    SolveRun.objects.filter(finding__source="perf-sentinel").update(status=SolveRun.Status.FAILED)
    released = sweep_solve_runs()["released"]
    assert len(released) == 2
    assert SolveRun.objects.filter(status__in=SolveRun.ACTIVE).count() == 3
    assert not Finding.objects.filter(pk__in=released).exclude(solve_waiting="").exists()


@pytest.mark.django_db
def test_ingest_posts_past_the_rate_get_429_with_retry_after(client, settings, django_user_model):
    settings.WATTSON_INGEST_RATE = "2/min"
    settings.WATTSON_AUTO_SOLVE = False
    bot = django_user_model.objects.create_user(username="bot")
    bot.groups.add(Group.objects.get_or_create(name=INGEST)[0])
    auth = {"Authorization": f"Token {Token.objects.create(user=bot).key}"}

    def post():
        body = json.dumps(finding("feed.x")).encode()
        return client.post(
            "/api/v1/findings/", data=body, content_type="application/json", headers=auth
        )

    assert [post().status_code for _ in range(2)] == [201, 201]
    refused = post()
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert Finding.objects.count() == 2
    assert client.get("/api/v1/findings/", headers=auth).status_code == 200  # reads are free


@pytest.mark.django_db
def test_login_is_throttled_per_username_and_per_address(client, settings, reviewer):
    settings.WATTSON_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        wrong = client.post("/login/", {"username": "rita", "password": "nope"})
        assert wrong.status_code == 200
    right = client.post(
        "/login/", {"username": "rita", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert right.status_code == 429  # per user, from any address
    assert int(right["Retry-After"]) > 0
    assert "Too many failed sign-ins" in right.content.decode()
    assert "_auth_user_id" not in client.session
    other_user = client.post("/login/", {"username": "ravi", "password": "x"})
    assert other_user.status_code == 429  # per address: 127.0.0.1 used up its tries
    elsewhere = client.post(
        "/login/", {"username": "ravi", "password": "x"}, REMOTE_ADDR="10.0.0.9"
    )
    assert elsewhere.status_code == 200  # another user from another address is not held
