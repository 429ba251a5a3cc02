"""The gate's back doors, closed: self-approval through ingest, foreign sources, text that is
not text, an ingest token reading other sources, a bad branch at add_repo, docs without a role.
"""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from reviews.models import Finding, Proposal, Repository, Source
from reviews.roles import INGEST, REVIEWER
from reviews.services.decisions import DecisionInvalid, proposal_decide
from tests.reviews.gate_helpers import make_proposal, make_repo

URL = "/api/v1/findings/"
SURROGATE_BODY = '"title": "slow \\ud800 path"'


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_AUTO_SOLVE = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def finding(**overrides) -> dict:
    data = {
        "kind": "regression",
        "external_id": "det-1",
        "source": "perf-sentinel",
        "service": "feed",
        "title": "parse_sku got slower",
        "metric": "cpu",
        "magnitude_pct": 2.5,
        "functions": [{"symbol": "feed.skus.parse_sku", "file": "feed/skus.py"}],
    }
    data.update(overrides)
    return data


def _account(django_user_model, name: str, *groups: str):
    user = django_user_model.objects.create_user(username=name, password="pw-" + name)
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def _post(client, user, body, **headers):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    token, _ = Token.objects.get_or_create(user=user)
    return client.post(
        URL,
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Token {token.key}", **headers},
    )


@pytest.fixture
def detector(db, django_user_model):
    return _account(django_user_model, "sentinel-bot", INGEST)


@pytest.fixture
def other_detector(db, django_user_model):
    return _account(django_user_model, "other-bot", INGEST)


# --- self-approval ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reviewer_cannot_approve_the_fix_of_a_finding_she_posted(
    client, reviewer, reviewer2, tmp_path
):
    response = _post(client, reviewer, finding())
    assert response.status_code == 201
    filed = Finding.objects.get(pk=response.json()["id"])
    assert filed.created_by == reviewer
    repo = make_repo(tmp_path / "repo")
    repository = Repository.objects.create(name="feed", path=str(repo))
    Finding.objects.filter(pk=filed.pk).update(
        status=Finding.Status.IN_REVIEW, repository=repository
    )
    proposal = make_proposal(repo=repo, finding=Finding.objects.get(pk=filed.pk))
    pins = {"revision": 1, "diff_sha256": proposal.diff_sha256}

    client.force_login(reviewer)
    own = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {"verdict": "approve", **pins},
        content_type="application/json",
    )
    assert own.status_code == 403
    assert "filed this finding" in own.json()["detail"]
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING and not proposal.branch_name

    client.force_login(reviewer2)
    other = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {"verdict": "approve", **pins},
        content_type="application/json",
    )
    assert other.status_code == 201


@pytest.mark.django_db
def test_an_ingest_account_never_decides_even_with_the_reviewer_role(
    client, django_user_model, tmp_path
):
    both = _account(django_user_model, "sneaky", INGEST, REVIEWER)
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"))
    client.force_login(both)
    response = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/",
        {"verdict": "approve", "revision": 1, "diff_sha256": proposal.diff_sha256},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "ingest service account" in response.json()["detail"]


# --- sources bound to accounts ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_first_account_to_post_binds_the_source_and_others_are_refused(
    client, detector, other_detector
):
    assert _post(client, detector, finding()).status_code == 201
    assert list(Source.objects.get(name="perf-sentinel").accounts.all()) == [detector]

    foreign = _post(client, other_detector, finding(external_id="det-2"))
    assert foreign.status_code == 403
    assert "bound to other accounts" in foreign.json()["detail"]
    assert Finding.objects.count() == 1

    Source.objects.get(name="perf-sentinel").accounts.add(other_detector)  # the admin's move
    assert _post(client, other_detector, finding(external_id="det-2")).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("twin", ["perf-sentinel ", "Perf-Sentinel", " perf-sentinel"])
def test_a_look_alike_source_name_is_refused(client, detector, other_detector, twin):
    assert _post(client, detector, finding()).status_code == 201
    response = _post(client, other_detector, finding(source=twin, external_id="det-2"))
    assert response.status_code == 403
    assert "only by case or spaces" in response.json()["detail"]
    assert not Source.objects.filter(name=twin).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("twin", ["perf-sentinel", "perf-sentinel ", "PERF-SENTINEL"])
def test_a_source_with_a_secret_never_takes_an_unsigned_post(client, detector, monkeypatch, twin):
    monkeypatch.setenv("WATTSON_SOURCE_SECRETS", json.dumps({"perf-sentinel": "s3cret"}))
    response = _post(client, detector, finding(source=twin))
    assert response.status_code in (401, 403)
    assert Finding.objects.count() == 0


@pytest.mark.django_db
def test_an_ingest_token_reads_back_only_its_own_sources(client, detector, other_detector, manager):
    mine = _post(client, detector, finding()).json()["id"]
    theirs = _post(client, other_detector, finding(source="profiler", external_id="p-1"))
    theirs = theirs.json()["id"]

    token = Token.objects.get(user=detector).key
    auth = {"Authorization": f"Token {token}"}
    listed = client.get(URL, headers=auth).json()["results"]
    assert [row["id"] for row in listed] == [mine]
    assert client.get(f"{URL}{theirs}/", headers=auth).status_code == 404
    assert client.get(f"{URL}{mine}/", headers=auth).status_code == 200

    client.force_login(manager)
    assert {row["id"] for row in client.get(URL).json()["results"]} == {mine, theirs}


# --- text that is not text -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fragment", "field"),
    [
        ('"title": "slow \\ud800 path"', "title"),
        ('"evidence": {"note": ["ok", "\\udfff"]}', "evidence.note[1]"),
        ('"evidence": {"\\ud800key": 1}', "evidence.'\\ud800key'"),
    ],
)
def test_a_lone_surrogate_is_a_400_naming_the_field(client, detector, fragment, field):
    body = json.dumps(finding()).rstrip("}") + ", " + fragment + "}"
    body = body.replace('"title": "parse_sku got slower", ', "") if "title" in fragment else body
    response = _post(client, detector, body.encode())
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["code"] == "invalid_text"
    assert Finding.objects.count() == 0


@pytest.mark.django_db
def test_ingest_cli_exits_2_on_a_lone_surrogate(tmp_path):
    path = tmp_path / "bad.json"
    body = json.dumps(finding(title="x")).replace('"title": "x"', SURROGATE_BODY)
    path.write_text(body)
    with pytest.raises(CommandError) as raised:
        call_command("ingest", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert raised.value.returncode == 2
    assert "not valid Unicode" in str(raised.value)


@pytest.mark.django_db
def test_a_lone_surrogate_in_a_decision_comment_is_a_400(client, reviewer, tmp_path):
    proposal = make_proposal(repo=make_repo(tmp_path / "repo"))
    client.force_login(reviewer)
    body = {"verdict": "request_changes", "revision": 1, "diff_sha256": proposal.diff_sha256}
    raw = json.dumps(body)[:-1] + ', "comment": "make it \\ud800 faster"}'
    response = client.post(
        f"/api/v1/proposals/{proposal.pk}/decisions/", data=raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert "comment" in response.json()["detail"]
    # The same rule in the service, for the page and `manage.py decide`.
    with pytest.raises(DecisionInvalid, match="comment is not valid Unicode"):
        proposal_decide(
            proposal=proposal, actor=reviewer, verdict="request_changes", comment="a \ud800 b"
        )
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PENDING


@pytest.mark.django_db
def test_add_repo_refuses_an_argument_that_is_not_text(tmp_path):
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(CommandError) as raised:
        call_command("add_repo", "bad\udcffname", str(repo))
    assert raised.value.returncode == 2
    assert "NAME is not valid UTF-8" in str(raised.value)


# --- add_repo validates the branch up front --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("branch", ["bad branch", "a..b", "-x", "topic.lock", "x~1", "HEAD"])
def test_add_repo_refuses_a_bad_branch_name(tmp_path, branch):
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(CommandError) as raised:
        call_command("add_repo", "invoice", str(repo), f"--branch={branch}")
    assert raised.value.returncode == 2
    assert "not a valid git branch name" in str(raised.value)
    assert not Repository.objects.exists()


@pytest.mark.django_db
def test_add_repo_accepts_a_good_branch_name(tmp_path):
    repo = make_repo(tmp_path / "repo")
    subprocess.run(["git", "-C", str(repo), "branch", "release/2026.1"], check=True)
    call_command("add_repo", "invoice", str(repo), "--branch", "release/2026.1", stdout=None)
    assert Repository.objects.get().default_branch == "release/2026.1"


# --- the API's documentation needs a role ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_api_docs_need_a_role(client, outsider, detector, path):
    assert client.get(path).status_code in (401, 403)
    client.force_login(outsider)
    assert client.get(path).status_code == 403
    client.force_login(detector)  # detectors integrate against the schema
    assert client.get(path).status_code == 200
