"""The API fuzzed from its own schema (/api/schema/) through the WSGI app, as a detector (ingest
token) and as a reviewer (reviewer token): no 5xx, and no response the schema does not describe.

Schemathesis generates requests the schema admits (positive) and requests it forbids (negative)
for every operation, and checks each answer: status documented, body valid against the
documented schema, content type documented, valid data accepted, invalid data refused, no
answer without credentials. Bounded (MAX_EXAMPLES per operation, mode and persona) so the whole
file runs in well under a minute; set WATTSON_FUZZ_EXAMPLES for a longer run.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from console.wsgi import application
from reviews.roles import INGEST, REVIEWER

MAX_EXAMPLES = int(os.environ.get("WATTSON_FUZZ_EXAMPLES", "10"))

# A schema-valid request may still be refused for what no OpenAPI 3.0 schema can state: a name
# that must refer to something registered (a repository), one of two fields that must be given,
# or the content of an uploaded file in a named format. The 400 then names that field, and only
# such a field (or the body is such a file); any other refusal of schema-valid data is a schema
# that promises too much.
# The reports form's "__all__" is its one cross-field rule: start on or before end.
STATE_OR_CONTENT_FIELDS = {
    "repository",
    "service",
    "file",
    "header",
    "time",
    "series",
    "end",
    "__all__",
}


def _refused_fields(body: object) -> set[str]:
    if not isinstance(body, dict):
        return set()
    errors = body.get("errors")
    if isinstance(errors, list):  # findings: every bad field, by index
        return {e.get("field", "") for e in errors if isinstance(e, dict)}
    if isinstance(errors, dict):  # the reports form: errors by field
        return set(errors)
    if "field" in body:  # histories and profiles: the one bad field
        field = str(body["field"])
        # The format readers name the uploaded file by its temporary name ("upload.json").
        return {"file" if field.startswith("upload.") else field}
    return set()


def accepts_schema_valid_data(ctx, response, case):
    """positive_data_acceptance, except for refusals of state, cross-field rules or content."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:
        if response.status_code != 400:
            raise
        if case.media_type == "application/octet-stream":
            return None  # a file in a named format: its content is not the schema's to state
        try:
            fields = _refused_fields(json.loads(response.content))
        except ValueError:
            raise AssertionError("a 400 whose body is not JSON") from None
        if not fields or not fields <= STATE_OR_CONTENT_FIELDS:
            raise
        return None


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Calls the WSGI app directly, so do what Django's test client does: a request's start and
    end must not close the connection that holds the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token_for(db, django_user_model, settings):
    """token_for(role) -> the Authorization header of a new account holding that role."""
    # Fuzzing posts hundreds of findings a minute: the limit is real, but not what is tested.
    settings.WATTSON_INGEST_RATE = "100000/min"

    def make(role: str) -> dict[str, str]:
        user = django_user_model.objects.create_user(username=f"fuzz-{role}")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        return {"Authorization": f"Token {Token.objects.create(user=user).key}"}

    return make


def _fuzz(headers: dict[str, str], mode: GenerationMode) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=headers)
    # OpenAPI 3.0 cannot forbid NUL in an object's keys (evidence); every string value
    # documents it with a pattern. Keys are the one place generation must be told.
    schema.config.generation.update(allow_x00=False)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case) -> None:
            case.call_and_validate(
                headers=headers,
                excluded_checks=[positive_data_acceptance],
                additional_checks=[accepts_schema_valid_data],
            )

        try:
            check()
        except Exception as exc:  # report every operation, not just the first that fails
            failures.append(f"{operation.label} ({mode.value}):\n{str(exc)[:4000]}")
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("role", [INGEST, REVIEWER])
def test_api_answers_every_generated_request_as_its_schema_says(token_for, role, mode):
    failures = _fuzz(token_for(role), mode)
    assert not failures, "\n\n".join(failures)


def test_an_api_url_that_matches_no_route_answers_json(token_for, client):
    response = client.get("/api/v1/findings/not-a-number/", headers=token_for(REVIEWER))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_empty_filters_mean_no_filter_and_a_nul_is_refused_by_name(token_for, client):
    headers = token_for(REVIEWER)
    assert client.get("/api/v1/findings/?service=&kind=", headers=headers).status_code == 200
    refused = client.get("/api/v1/findings/?source=a%00b", headers=headers)
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"source"}
