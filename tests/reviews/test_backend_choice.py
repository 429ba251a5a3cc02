"""Which solver backend a fix runs with, and that the pages say which one ran and why.

Precedence: the request's choice > the finding's source > the top-ranked applicable skill's
preference > WATTSON_SOLVER_BACKEND. "anthropic" without ANTHROPIC_API_KEY runs offline, and the
run, the proposal and the pages say so.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reviews.models import Finding, Proposal, Service, SolveRun, Source
from reviews.services import solving
from reviews.services.ingest import finding_ingest
from reviews.services.repositories import repository_register
from reviews.services.solving import solve_request, solve_run_execute
from skills.models import Skill
from tests.fakes.anthropic_api import FakeAnthropicAPI, reply, tool_use

R = SolveRun.Status
ORIGIN = SolveRun.BackendOrigin
# The skill the label_regex finding ranks first once the code is read (its regex compiles
# in the hot function), and an applicable one that always ranks last (the defense fallback).
TOP_SKILL = "precompile-regex"
LAST_SKILL = "revert-hunk"


@pytest.fixture
def finding(db, scenario, settings, tmp_path, monkeypatch) -> Finding:
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_AUTO_SOLVE = False
    settings.WATTSON_SOLVER_BACKEND = "offline"
    settings.WATTSON_ANTHROPIC_FALLBACK = "offline"
    monkeypatch.setattr(solving, "solve_run_enqueue", lambda *, run_id: None)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    built = scenario("label_regex")
    payload = dict(built["finding"])
    repository_register(
        name="labels",
        path=str(built["path"]),
        service_name=payload["service"],
        test_cmd=built["meta"]["test_cmd"],
        bench_cmd="",
        branch="main",
        actor=None,
    )
    result = finding_ingest(payload={**payload, "repository": "labels"}, actor=None)
    assert not result.errors, result.errors
    return Finding.objects.get(pk=result.created[0])


@pytest.fixture
def fake_api(settings, monkeypatch):
    """A scripted Messages API that answers "no fix" once; its key is in the environment."""
    api = FakeAnthropicAPI(
        [reply(tool_use("no_fix", {"reason": "scripted: nothing to change"}))]
    ).start()
    settings.ANTHROPIC_BASE_URL = api.base_url
    settings.ANTHROPIC_MAX_RETRIES = 0
    monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
    yield api
    api.stop()


def prefer(slug: str, backend: str) -> None:
    skill = Skill.objects.get(slug=slug)
    skill.preferred_backend = backend
    skill.save()


def set_source_backend(finding: Finding, backend: str) -> None:
    Source.objects.update_or_create(name=finding.source, defaults={"backend": backend})


def run_fix(finding: Finding, actor=None, backend: str | None = None) -> SolveRun:
    run = solve_request(finding=finding, actor=actor, backend=backend)
    return solve_run_execute(run_id=run.pk)


def test_the_requests_choice_beats_the_source_and_the_skill(finding, reviewer, fake_api):
    set_source_backend(finding, "anthropic")
    prefer(TOP_SKILL, "anthropic")

    run = run_fix(finding, reviewer, backend="offline")

    assert (run.backend, run.backend_origin) == ("offline", ORIGIN.REQUEST)
    assert run.status == R.SUCCEEDED, run.error
    assert Proposal.objects.get(finding=finding, is_current=True).backend == "offline"
    assert fake_api.bodies == []  # the model was never called


def test_the_sources_choice_beats_the_skills_preference(finding, fake_api):
    set_source_backend(finding, "offline")
    prefer(TOP_SKILL, "anthropic")

    run = run_fix(finding)

    assert (run.backend, run.backend_origin) == ("offline", ORIGIN.SOURCE)
    assert run.backend_note == f"by source {finding.source}"
    assert run.status == R.SUCCEEDED and fake_api.bodies == []


def test_the_top_ranked_skills_preference_beats_the_setting(
    finding, fake_api, reviewer, client_for
):
    prefer(TOP_SKILL, "anthropic")

    queued = solve_request(finding=finding, actor=reviewer)
    # Known only once the worker has ranked the skills against the code.
    assert (queued.backend, queued.backend_origin) == ("offline", ORIGIN.SETTING)
    run = solve_run_execute(run_id=queued.pk)

    assert (run.backend, run.backend_origin) == ("anthropic", ORIGIN.SKILL)
    assert run.status == R.NO_FIX and run.usage["model_calls"] == 1
    assert len(fake_api.bodies) == 1
    assert run.backend_note == f"by skill {TOP_SKILL}, the top-ranked for this finding"
    assert any(step["tool"] == "backend" and TOP_SKILL in step["summary"] for step in run.trace)
    html = client_for(reviewer).get(finding.get_absolute_url()).content.decode()
    assert f"by skill {TOP_SKILL}, the top-ranked for this finding" in html


def test_a_lower_ranked_skills_preference_does_not_count(finding, fake_api):
    prefer(LAST_SKILL, "anthropic")

    run = run_fix(finding)

    assert (run.backend, run.backend_origin) == ("offline", ORIGIN.SETTING)
    assert run.status == R.SUCCEEDED and fake_api.bodies == []
    proposal = Proposal.objects.get(finding=finding, is_current=True)
    assert proposal.skill_slug == TOP_SKILL and proposal.backend == "offline"


def test_a_skill_preferring_offline_overrides_an_anthropic_default(finding, fake_api, settings):
    settings.WATTSON_SOLVER_BACKEND = "anthropic"
    prefer(TOP_SKILL, "offline")

    run = run_fix(finding)

    assert (run.backend, run.backend_origin) == ("offline", ORIGIN.SKILL)
    assert run.status == R.SUCCEEDED and fake_api.bodies == []


def test_with_no_preference_anywhere_the_setting_decides(finding, fake_api, settings):
    settings.WATTSON_SOLVER_BACKEND = "anthropic"

    run = run_fix(finding)

    assert (run.backend, run.backend_origin) == ("anthropic", ORIGIN.SETTING)
    assert run.backend_note == "by default (WATTSON_SOLVER_BACKEND)"
    assert run.status == R.NO_FIX and len(fake_api.bodies) == 1


def test_anthropic_without_a_key_runs_offline_and_every_page_says_so(
    finding, reviewer, reviewer2, client_for
):
    run = run_fix(finding, reviewer, backend="anthropic")

    note = "anthropic by the fix request, but ANTHROPIC_API_KEY is not set: ran offline"
    assert run.status == R.SUCCEEDED, run.error
    assert (run.backend, run.backend_origin, run.backend_note) == ("offline", ORIGIN.REQUEST, note)
    proposal = Proposal.objects.get(finding=finding, is_current=True)
    assert proposal.backend == "offline" and proposal.model_name == ""

    finding_html = client_for(reviewer2).get(finding.get_absolute_url()).content.decode()
    # The Fix panel and the solve-runs table both name the backend that ran, and why.
    assert f"Backend: <strong>offline</strong> — {note}." in finding_html
    assert f'<span class="muted small run-backend-note">{note}</span>' in finding_html
    proposal_url = reverse("reviews:proposal", args=[proposal.pk])
    proposal_html = client_for(reviewer2).get(proposal_url).content.decode()
    assert f'<span class="muted small proposal-backend-note">({note})</span>' in proposal_html
    status = client_for(reviewer2).get(reverse("reviews:solve-status", args=[finding.pk]))
    assert status.json()["run"]["backend"] == "offline"
    assert status.json()["run"]["backend_note"] == note


def test_a_skill_chosen_anthropic_run_fails_without_a_key_when_fallback_is_fail(finding, settings):
    settings.WATTSON_ANTHROPIC_FALLBACK = "fail"
    prefer(TOP_SKILL, "anthropic")

    run = run_fix(finding)

    assert run.status == R.FAILED
    assert run.error == "the anthropic backend cannot run: ANTHROPIC_API_KEY is not set"
    assert not Proposal.objects.filter(finding=finding).exists()


def test_an_unknown_backend_is_refused(finding):
    with pytest.raises(ValueError, match="unknown solver backend 'gpt'"):
        solve_request(finding=finding, actor=None, backend="gpt")
    assert not SolveRun.objects.filter(finding=finding).exists()


# --- the skill admin ---------------------------------------------------------------------------


def _change_form(skill: Skill, **changes: str) -> dict[str, str]:
    form = {
        "slug": skill.slug,
        "name": skill.name,
        "side": skill.side,
        "description": skill.description,
        "owner": skill.owner,
        "enabled": "on",
        "preferred_backend": skill.preferred_backend,
        "trigger": json.dumps(skill.trigger),
        "instructions": skill.instructions,
        "mitigation": skill.mitigation,
        "codemod": skill.codemod,
        "expected_recovery": str(skill.expected_recovery),
        **changes,
    }
    for prefix, related in (("stats", skill.stats), ("versions", skill.versions)):
        count = related.count()
        form.update(
            {
                f"{prefix}-TOTAL_FORMS": str(count),
                f"{prefix}-INITIAL_FORMS": str(count),
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    for index, version in enumerate(skill.versions.order_by("-number")):
        form[f"versions-{index}-id"] = str(version.pk)
        form[f"versions-{index}-skill"] = str(skill.pk)
    return form


def test_the_skill_admin_sets_a_preferred_backend_without_a_new_version(skill_admin, client_for):
    admin_client = client_for(skill_admin)  # the role that curates skills, not a superuser
    skill = Skill.objects.get(slug=TOP_SKILL)
    url = reverse("admin:skills_skill_change", args=[skill.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="preferred_backend"' in page and "Anthropic agent" in page
    # A first save through the form (it strips the seed texts' trailing newlines, which is a
    # new version of its own); then only the preference changes.
    assert admin_client.post(url, _change_form(skill)).status_code == 302
    skill.refresh_from_db()
    versions = skill.versions.count()

    response = admin_client.post(url, _change_form(skill, preferred_backend="anthropic"))

    assert response.status_code == 302, response.content.decode()[:2000]
    skill.refresh_from_db()
    assert skill.preferred_backend == "anthropic"
    # How the solver runs is not what the skill teaches: no new version for proposals to pin.
    assert skill.versions.count() == versions
    changelist = admin_client.get(
        reverse("admin:skills_skill_changelist"), {"preferred_backend": "anthropic"}
    )
    assert [s.slug for s in changelist.context["cl"].result_list] == [TOP_SKILL]


@pytest.mark.django_db
def test_the_skill_admin_refuses_an_unknown_backend(admin_client):
    skill = Skill.objects.get(slug=TOP_SKILL)
    url = reverse("admin:skills_skill_change", args=[skill.pk])

    response = admin_client.post(url, _change_form(skill, preferred_backend="gpt"))

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    skill.refresh_from_db()
    assert skill.preferred_backend == ""


def test_a_reviewer_cannot_set_a_skills_backend(reviewer, client_for):
    skill = Skill.objects.get(slug=TOP_SKILL)
    url = reverse("admin:skills_skill_change", args=[skill.pk])

    response = client_for(reviewer).post(url, _change_form(skill, preferred_backend="anthropic"))

    assert response.status_code in (302, 403)  # the admin's login, or refused
    skill.refresh_from_db()
    assert skill.preferred_backend == ""


# --- the queue ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_queue_names_the_current_proposals_backend_without_a_query_per_row(
    reviewer, client_for
):
    service = Service.objects.create(name="feed")
    findings = [
        Finding.objects.create(
            service=service,
            kind=Finding.Kind.REGRESSION,
            source="detector",
            external_id=f"det-{i}",
            payload_sha256="0" * 64,
            title=f"finding {i}",
            metric="cpu",
            magnitude_pct=1.0,
            status=Finding.Status.IN_REVIEW,
        )
        for i in range(30)
    ]
    client = client_for(reviewer)
    with CaptureQueriesContext(connection) as before:
        assert "proposal by" not in client.get("/?per_page=50").content.decode()
    for number, finding in enumerate(findings):
        # An older revision by the other backend is not what the queue reports.
        Proposal.objects.create(finding=finding, revision=1, is_current=False, backend="offline")
        backend = "anthropic" if number % 2 else "offline"
        Proposal.objects.create(finding=finding, revision=2, is_current=True, backend=backend)

    with CaptureQueriesContext(connection) as after:
        html = client.get("/?per_page=50").content.decode()

    assert len(after) == len(before)
    assert html.count('<span class="sub proposal-backend">proposal by anthropic</span>') == 15
    assert html.count('<span class="sub proposal-backend">proposal by offline</span>') == 15
