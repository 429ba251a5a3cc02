"""POST/GET /api/v1/findings/: what a detector and a reviewer see."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from rest_framework.authtoken.models import Token

from reviews.api.auth import signature_header, source_secrets
from reviews.api.finding_ingest import PayloadTooLarge, RawJSONParser
from reviews.models import AuditEvent, Finding, Repository, Service, Source
from reviews.roles import INGEST
from reviews.services import ingest as ingest_service
from reviews.services import ingest_validation
from tests.conftest import SHARED_DIR

URL = "/api/v1/findings/"


def finding(**overrides) -> dict:
    data = {
        "kind": "regression",
        "external_id": "det-1",
        "source": "detector",
        "service": "feed",
        "title": "parse_sku got slower",
        "metric": "cpu",
        "magnitude_pct": 2.5,
        "functions": [{"symbol": "feed.skus.parse_sku", "file": "feed/skus.py"}],
    }
    data.update(overrides)
    return data


@pytest.fixture
def detector(db, django_user_model):
    """A service account in the ingest group, with an API token."""
    user = django_user_model.objects.create_user(username="detector-bot")
    user.groups.add(Group.objects.get_or_create(name=INGEST)[0])
    return user


@pytest.fixture
def post(client, detector):
    """post(body, user=detector, headers=None): send raw JSON (or bytes) with a token."""

    def send(body, *, user=None, headers=None, **extra):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers = dict(headers or {})
        if user is not False:
            token, _ = Token.objects.get_or_create(user=user or detector)
            all_headers["Authorization"] = f"Token {token.key}"
        return client.post(
            URL, data=raw, content_type="application/json", headers=all_headers, **extra
        )

    return send


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv(
        "WATTSON_SOURCE_SECRETS", json.dumps({"detector": "s3cret", "survey": "other-secret"})
    )


# --- creating and re-sending ------------------------------------------------------------------


def test_single_finding_is_created_with_defaults_and_audited(post, detector, settings):
    response = post(finding())

    assert response.status_code == 201, response.json()
    body = response.json()
    stored = Finding.objects.get()
    assert body["id"] == stored.pk
    assert body["status"] == "new"
    assert body["service"] == "feed"
    # Unknown service: created with the default fleet figures; watts = whole magnitude at stake.
    service = Service.objects.get(name="feed")
    assert service.fleet_servers == settings.WATTSON_DEFAULT_FLEET_SERVERS
    expected = (
        settings.WATTSON_DEFAULT_FLEET_SERVERS
        * settings.WATTSON_DEFAULT_WATTS_PER_SERVER
        * settings.WATTSON_DEFAULT_PUE
        * 0.025
    )
    assert stored.estimated_watts == pytest.approx(expected)
    assert body["estimated_watts"] == pytest.approx(expected)
    assert Source.objects.filter(name="detector").exists()
    event = AuditEvent.objects.get(verb="finding.ingest")
    assert (event.target_id, event.actor) == (str(stored.pk), detector)


def test_resend_of_same_body_returns_existing_and_changes_nothing(post):
    first = post(finding())
    before = Finding.objects.get()

    again = post(finding(magnitude_pct=2.5, functions=finding()["functions"]))

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    after = Finding.objects.get()
    assert after.updated_at == before.updated_at
    assert AuditEvent.objects.filter(verb="finding.ingest").count() == 1


def test_resend_with_reformatted_number_is_the_same_body(post):
    post(finding(magnitude_pct=3))
    again = post(finding(magnitude_pct=3.0))
    assert again.status_code == 200
    assert Finding.objects.count() == 1


def test_same_key_with_different_body_is_a_conflict(post):
    first = post(finding())

    response = post(finding(title="something else"))

    assert response.status_code == 409
    body = response.json()
    assert "different body" in body["detail"]
    assert body["errors"][0]["finding"] == first.json()["id"]
    assert Finding.objects.get().title == "parse_sku got slower"


def test_batch_reports_created_and_existing(post):
    post(finding(external_id="old"))

    response = post(
        [finding(external_id="a"), finding(external_id="old"), finding(external_id="b")]
    )

    assert response.status_code == 201
    body = response.json()
    ids = dict(Finding.objects.values_list("external_id", "id"))
    assert body == {"created": [ids["a"], ids["b"]], "existing": [ids["old"]], "errors": []}


def test_batch_resent_whole_is_200_with_everything_existing(post):
    batch = [finding(external_id="a"), finding(external_id="b")]
    created = post(batch).json()["created"]

    response = post(batch)

    assert response.status_code == 200
    assert response.json() == {"created": [], "existing": created, "errors": []}


def test_batch_with_one_bad_item_writes_nothing_and_names_index_and_fields(post):
    bad = finding(external_id="c", magnitude_pct=0)
    bad["functions"] = [{"symbol": "x.y", "line": 0}]
    response = post([finding(external_id="a"), finding(external_id="b"), bad])

    assert response.status_code == 400
    body = response.json()
    assert {(e["index"], e["field"]) for e in body["errors"]} == {
        (2, "magnitude_pct"),
        (2, "functions[0].line"),
    }
    assert "nothing was written" in body["detail"]
    assert body["created"] == []
    assert Finding.objects.count() == 0
    assert Service.objects.count() == 0


def test_batch_with_conflicting_item_writes_nothing(post):
    post(finding(external_id="a"))

    response = post([finding(external_id="new"), finding(external_id="a", title="changed")])

    assert response.status_code == 409
    assert response.json()["errors"][0]["index"] == 1
    assert Finding.objects.count() == 1


def test_malformed_finding_names_every_bad_field(post):
    data = finding(kind="bug", extra="x")
    del data["title"]
    data["root_cause"] = {"commit": "NOT-A-SHA"}

    response = post(data)

    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"kind", "extra", "title", "root_cause.commit"}
    assert Finding.objects.count() == 0


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"{not json", "invalid JSON"),
        (b'{"magnitude_pct": NaN}', "NaN"),
        (b"", "empty"),
        (b"42", "expected a finding"),
        (b"[]", "at least one finding"),
        (b"[1]", "must be a finding"),
    ],
)
def test_unreadable_body_is_400_and_writes_nothing(post, raw, message):
    response = post(raw)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert Finding.objects.count() == 0


def test_batch_over_the_limit_is_refused(post, settings):
    settings.WATTSON_INGEST_MAX_BATCH = 2
    response = post([finding(external_id=str(i)) for i in range(3)])
    assert response.status_code == 400
    assert "at most 2 findings" in response.json()["detail"]
    assert Finding.objects.count() == 0


def test_body_over_5_mib_is_413_and_writes_nothing(post):
    padding = "x" * (5 * 1024 * 1024)
    response = post(finding(evidence={"log": padding}))
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert Finding.objects.count() == 0


def test_body_over_a_lower_limit_is_413(post, settings):
    settings.WATTSON_INGEST_MAX_BYTES = 1000
    response = post(finding(evidence={"log": "x" * 2000}))
    assert response.status_code == 413
    assert Finding.objects.count() == 0


def test_parser_stops_reading_past_the_limit_without_content_length(settings):
    # A chunked upload declares no length: the parser still refuses it after limit + 1 bytes.
    settings.WATTSON_INGEST_MAX_BYTES = 1000
    stream = io.BytesIO(b"x" * 5000)
    with pytest.raises(PayloadTooLarge):
        RawJSONParser().parse(stream, "application/json", {})
    assert stream.tell() == 1001


def test_evidence_over_64_kib_is_refused(post):
    response = post(finding(evidence={"log": "x" * (64 * 1024)}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "evidence"
    assert Finding.objects.count() == 0


def test_unknown_repository_is_refused_by_name(post):
    response = post(finding(repository="nope"))
    assert response.status_code == 400
    assert "'nope'" in response.json()["errors"][0]["error"]
    assert Finding.objects.count() == 0


def test_repository_comes_from_the_finding_or_else_the_service(post, tmp_path):
    feed_repo = Repository.objects.create(name="feed-repo", path=str(tmp_path))
    other = Repository.objects.create(name="other", path=str(tmp_path))
    Service.objects.create(name="feed", repository=feed_repo)

    post(finding(external_id="a"))
    post(finding(external_id="b", repository="other"))

    assert Finding.objects.get(external_id="a").repository == feed_repo
    assert Finding.objects.get(external_id="b").repository == other


def test_root_cause_author_is_assigned_by_email(post, reviewer):
    reviewer.email = "Priya@Example.com"
    reviewer.save()
    data = finding(root_cause={"commit": "0123abcd", "author": "priya@example.com"})

    response = post(data)

    assert response.json()["assignee"] == reviewer.username
    assert Finding.objects.get().assignee == reviewer


def test_detected_at_without_timezone_is_refused(post):
    response = post(finding(detected_at="2026-01-31T12:00:00"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "detected_at"
    ok = post(finding(detected_at="2026-01-31T12:00:00Z"))
    assert ok.status_code == 201


def test_commit_with_trailing_newline_is_refused(post):
    response = post(finding(root_cause={"commit": "0123abcd\n"}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "root_cause.commit"


def test_nul_character_is_refused(post):
    response = post(finding(title="bad\u0000title"))
    assert response.status_code == 400
    assert Finding.objects.count() == 0


# --- signatures -------------------------------------------------------------------------------


def test_signed_finding_is_accepted(post, secrets):
    raw = json.dumps(finding()).encode()
    response = post(raw, headers={"X-Wattson-Signature": signature_header("s3cret", raw)})
    assert response.status_code == 201


@pytest.mark.parametrize(
    "make_header, message",
    [
        (lambda raw: None, "has a shared secret"),
        (lambda raw: signature_header("wrong", raw), "does not match"),
        (lambda raw: signature_header("s3cret", raw + b" "), "does not match"),
        (lambda raw: signature_header("s3cret", raw, timestamp=int(time.time()) - 301), "old"),
        (
            lambda raw: signature_header("s3cret", raw, timestamp=int(time.time()) + 301),
            "in the future",
        ),
        (lambda raw: "v1=abc", "must look like"),
    ],
    ids=["missing", "wrong-secret", "other-body", "stale", "future", "malformed"],
)
def test_bad_signature_is_401_and_writes_nothing(post, secrets, make_header, message):
    raw = json.dumps(finding()).encode()
    header = make_header(raw)
    response = post(raw, headers={"X-Wattson-Signature": header} if header else {})
    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert Finding.objects.count() == 0


def test_signature_inside_the_window_is_accepted(post, secrets):
    raw = json.dumps(finding()).encode()
    header = signature_header("s3cret", raw, timestamp=int(time.time()) - 290)
    assert post(raw, headers={"X-Wattson-Signature": header}).status_code == 201


def test_source_without_a_secret_needs_no_signature(post, secrets):
    assert post(finding(source="unsigned-detector")).status_code == 201


def test_batch_needs_a_signature_for_every_source_with_a_secret(post, secrets):
    raw = json.dumps([finding(), finding(source="survey", external_id="s-1")]).encode()
    one = signature_header("s3cret", raw)
    response = post(raw, headers={"X-Wattson-Signature": one})
    assert response.status_code == 401
    assert "'survey'" in response.json()["detail"]
    assert Finding.objects.count() == 0

    t = int(time.time())
    both = (
        signature_header("s3cret", raw, timestamp=t)
        + ","
        + signature_header("other-secret", raw, timestamp=t).split(",")[1]
    )
    assert post(raw, headers={"X-Wattson-Signature": both}).status_code == 201
    assert Finding.objects.count() == 2


def test_malformed_secrets_variable_names_it(monkeypatch):
    monkeypatch.setenv("WATTSON_SOURCE_SECRETS", '["not", "an", "object"]')
    with pytest.raises(ImproperlyConfigured, match="WATTSON_SOURCE_SECRETS"):
        source_secrets()
    monkeypatch.setenv("WATTSON_SOURCE_SECRETS", "{oops")
    with pytest.raises(ImproperlyConfigured, match="WATTSON_SOURCE_SECRETS"):
        source_secrets()


# --- who may post and read --------------------------------------------------------------------


def test_anonymous_gets_401(client, db):
    assert client.post(URL, data=finding(), content_type="application/json").status_code == 401
    assert client.get(URL).status_code == 401
    assert Finding.objects.count() == 0


def test_manager_may_read_but_not_post(post, manager, client_for):
    response = post(finding(), user=manager)
    assert response.status_code == 403
    assert Finding.objects.count() == 0
    assert client_for(manager).get(URL).status_code == 200


def test_outsider_may_neither_read_nor_post(post, outsider, client_for):
    assert post(finding(), user=outsider).status_code == 403
    assert client_for(outsider).get(URL).status_code == 403
    assert Finding.objects.count() == 0


def test_logged_in_reviewer_may_post_with_session(client_for, reviewer):
    client = client_for(reviewer)
    response = client.post(URL, data=finding(), content_type="application/json")
    assert response.status_code == 201
    assert AuditEvent.objects.get(verb="finding.ingest").actor == reviewer


def test_session_post_needs_the_csrf_token(reviewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    body = json.dumps(finding())

    refused = client.post(URL, data=body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert Finding.objects.count() == 0

    token = "a" * 32
    client.cookies["csrftoken"] = token
    accepted = client.post(
        URL, data=body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201


def test_skill_admin_and_superuser_may_post(post, skill_admin, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", password="x" * 20)
    assert post(finding(external_id="a"), user=skill_admin).status_code == 201
    assert post(finding(external_id="b"), user=admin).status_code == 201


# --- reading ----------------------------------------------------------------------------------


def test_list_filters_and_detail(post, client_for, manager):
    post(
        [
            finding(external_id="a"),
            finding(external_id="b", kind="opportunity", service="search", source="survey"),
        ]
    )
    client = client_for(manager)

    everything = client.get(URL).json()
    assert everything["count"] == 2
    only = client.get(URL, {"kind": "opportunity"}).json()["results"]
    assert [f["external_id"] for f in only] == ["b"]
    assert [f["external_id"] for f in client.get(URL, {"service": "feed"}).json()["results"]] == [
        "a"
    ]
    assert client.get(URL, {"source": "survey", "status": "new"}).json()["count"] == 1
    assert client.get(URL, {"status": "bogus"}).status_code == 400

    pk = Finding.objects.get(external_id="a").pk
    detail = client.get(f"{URL}{pk}/")
    assert detail.status_code == 200
    assert detail.json()["external_id"] == "a"
    assert client.get(f"{URL}{pk + 100}/").status_code == 404


def test_detail_needs_a_role(post, client_for, outsider):
    post(finding())
    pk = Finding.objects.get().pk
    assert client_for(outsider).get(f"{URL}{pk}/").status_code == 403


# --- hooks, schema, docs ----------------------------------------------------------------------


def test_post_ingest_hooks_get_new_ids_after_commit(
    post, monkeypatch, django_capture_on_commit_callbacks
):
    calls: list[list[int]] = []
    monkeypatch.setattr(ingest_service, "POST_INGEST_HOOKS", [calls.append])

    with django_capture_on_commit_callbacks(execute=True):
        post([finding(external_id="a"), finding(external_id="b")])
    with django_capture_on_commit_callbacks(execute=True):
        post(finding(external_id="a"))

    assert calls == [sorted(Finding.objects.values_list("id", flat=True))]


def test_a_failing_hook_does_not_undo_the_ingest(
    post, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(ids):
        raise RuntimeError("boom")

    monkeypatch.setattr(ingest_service, "POST_INGEST_HOOKS", [broken])
    with django_capture_on_commit_callbacks(execute=True):
        assert post(finding()).status_code == 201
    assert Finding.objects.count() == 1


@pytest.mark.shared_scenarios
def test_schema_copy_matches_the_shared_spec():
    shared = SHARED_DIR / "spec" / "finding.schema.json"
    if not shared.exists():
        pytest.skip(f"{shared} not found: optional extra check skipped")
    ours = Path(ingest_validation.SCHEMA_PATH)
    assert json.loads(ours.read_text()) == json.loads(shared.read_text())


def test_openapi_documents_the_findings_api(client_for, reviewer):
    response = client_for(reviewer).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    post_doc = paths["/api/v1/findings/"]["post"]
    assert {"201", "200", "400", "401", "403", "409", "413"} <= set(post_doc["responses"])
    assert "examples" in post_doc["requestBody"]["content"]["application/json"]
    assert "/api/v1/findings/{id}/" in paths


def test_fast_schema_check_agrees_with_jsonschema():
    # The generated fast check only accepts; jsonschema is the reference. They must never
    # disagree, or a finding the schema forbids could slip through.
    from reviews.services.ingest_validation import _fast_check, _validator

    base = finding(
        root_cause={"commit": "0123abcd", "author": "a@example.com", "title": "t", "url": "u"},
        confidence=0.5,
        baseline=1,
        current=2.5,
        detected_at="2026-01-31T12:00:00+01:00",
        evidence={"k": [1, 2]},
        pattern="memoize",
        repository="r",
    )
    values = [None, "", "x", "x" * 301, -1, 0, 0.5, 1.0, 100, 100.5, True, [], {}, [{}]]
    values += ["2026-01-31T12:00:00", "2026-01-31T12:00:00Z", "0123abcd", "0123ABCD", "opportunity"]
    values += [[{"symbol": "a", "line": 0}], [{"symbol": "a", "line": 1.0}], [{"file": "f"}]]
    variants = [base]
    for key in list(base):
        variants.append({k: v for k, v in base.items() if k != key})
        variants += [{**base, key: value} for value in values]
    for key in base["root_cause"]:
        variants += [{**base, "root_cause": {**base["root_cause"], key: v}} for v in values]
    variants.append({**base, "unknown": 1})

    fast = _fast_check()
    for variant in variants:
        try:
            fast(variant)
            fast_ok = True
        except Exception:
            fast_ok = False
        assert fast_ok == _validator().is_valid(variant), variant


def test_openapi_generation_has_no_warnings_for_the_findings_views(db):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    messages = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    ours = [m for m in messages if "api/finding" in m or "Finding" in m]
    assert ours == []


def test_non_json_body_is_415(post):
    response = post(b"kind=regression", CONTENT_TYPE="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert Finding.objects.count() == 0


def test_ingest_account_may_read_back(post, client, detector):
    post(finding())
    token = Token.objects.get(user=detector).key
    response = client.get(URL, headers={"Authorization": f"Token {token}"})
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_service_callers_passing_floats_get_the_same_idempotency(db):
    from reviews.services.ingest import finding_ingest

    first = finding_ingest(payload=finding(magnitude_pct=3.0, baseline=100.0), actor=None)
    again = finding_ingest(payload=finding(magnitude_pct=3, baseline=100), actor=None)

    assert first.created and again.existing == first.created
    changed = finding_ingest(payload=finding(magnitude_pct=3.5, baseline=100), actor=None)
    assert changed.is_conflict
