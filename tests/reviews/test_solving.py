"""Solving in the background: request, join, claim, store, retry, give up, sweep, UI and CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from reviews.models import AuditEvent, Finding, Proposal, Repository, Service, SolveRun, Source
from reviews.services import solving
from reviews.services.bot import bot_user
from reviews.services.solve_context import skill_specs
from reviews.services.solving import (
    auto_solve_findings,
    solve_request,
    solve_run_execute,
    sweep_solve_runs,
)
from skills import codemods
from skills.codemods import CodemodInput, CodemodRefused, CodemodResult
from skills.models import Skill, SkillStats

R = SolveRun.Status


def fake_memoize(data: CodemodInput) -> CodemodResult:
    marker = f"def {data.qualname}("
    if marker not in data.source:
        raise CodemodRefused(f"{data.qualname} is not defined here")
    new = data.source.replace(marker, f"@functools.lru_cache(maxsize=None)\n{marker}", 1)
    return CodemodResult("import functools\n" + new, f"cached {data.qualname}", 38, 38)


def fake_breaker(data: CodemodInput) -> CodemodResult:
    return CodemodResult(
        data.source.replace("return cents\n", "return 0\n", 1), "constant price", 52, 52
    )


def fake_refuser(data: CodemodInput) -> CodemodResult:
    raise CodemodRefused(f"{data.qualname} has nothing to hoist")


@pytest.fixture
def enqueued(monkeypatch):
    """Run ids handed to the broker (nothing is really enqueued)."""
    calls: list[int] = []
    monkeypatch.setattr(solving, "solve_run_enqueue", lambda *, run_id: calls.append(run_id))
    return calls


@pytest.fixture
def world(db, scenario, settings, tmp_path, monkeypatch):
    """tariff_memoize registered, its finding ingested, and fake skills in place of the seeds."""
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    for name, func in {
        "fake-memoize": fake_memoize,
        "fake-breaker": fake_breaker,
        "fake-refuser": fake_refuser,
    }.items():
        monkeypatch.setitem(codemods.REGISTRY, name, func)
    built = scenario("tariff_memoize")
    repository = Repository.objects.create(
        name="tariffs", path=str(built["path"]), test_cmd=built["meta"]["test_cmd"]
    )
    service = Service.objects.create(name="postage", repository=repository)
    data = built["finding"]
    finding = Finding.objects.create(
        kind=data["kind"],
        source=data["source"],
        external_id=data["external_id"],
        payload_sha256="0" * 64,
        service=service,
        repository=repository,
        title=data["title"],
        metric=data["metric"],
        magnitude_pct=data["magnitude_pct"],
        functions=data["functions"],
        pattern=data.get("pattern", ""),
    )
    Skill.objects.update(enabled=False)

    def add_skill(slug: str, codemod: str, **extra) -> Skill:
        # Seeded skills share some slugs: take them over, with a trigger that always matches.
        skill, _ = Skill.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
        values = {"codemod": codemod, "expected_recovery": 0.5, "trigger": {}, "enabled": True}
        values.update({"side": "both", "needs_attention": False, **extra})
        for field, value in values.items():
            setattr(skill, field, value)
        skill.save()
        return skill

    return {"finding": finding, "repository": repository, "add_skill": add_skill, "built": built}


def run_to_end(finding: Finding, actor=None, **kwargs) -> SolveRun:
    run = solve_request(finding=finding, actor=actor, **kwargs)
    return solve_run_execute(run_id=run.pk)


# --- request and join -------------------------------------------------------------------------


def test_request_queues_a_run_moves_the_finding_and_enqueues_on_commit(
    world, reviewer, enqueued, django_capture_on_commit_callbacks
):
    finding = world["finding"]
    with django_capture_on_commit_callbacks(execute=True):
        run = solve_request(finding=finding, actor=reviewer, backend="offline", comment="")
    finding.refresh_from_db()
    assert finding.status == Finding.Status.SOLVING
    assert run.status == R.QUEUED and run.revision == 1 and run.requested_by == reviewer
    assert enqueued == [run.pk]
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"finding.status", "solverun.status"} <= verbs
    assert AuditEvent.objects.filter(verb="finding.status", actor=reviewer).exists()


def test_the_real_task_runs_the_solve_through_django_q(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)  # django-q runs the task inline, same code path
    world["add_skill"]("memoize", "fake-memoize")
    with django_capture_on_commit_callbacks(execute=True):
        run = solve_request(finding=world["finding"], actor=None)
    run.refresh_from_db()
    assert run.status == R.SUCCEEDED
    assert Proposal.objects.filter(finding=world["finding"], is_current=True).count() == 1


def test_a_second_request_joins_the_active_run(world, reviewer, reviewer2, enqueued):
    first = solve_request(finding=world["finding"], actor=reviewer)
    second = solve_request(finding=world["finding"], actor=reviewer2)
    assert second.pk == first.pk
    assert SolveRun.objects.count() == 1
    assert AuditEvent.objects.filter(verb="solverun.join", actor=reviewer2).exists()


def test_unknown_backend_is_refused(world, reviewer):
    with pytest.raises(ValueError, match="unknown solver backend"):
        solve_request(finding=world["finding"], actor=reviewer, backend="gpt")
    assert not SolveRun.objects.exists()


# --- executing --------------------------------------------------------------------------------


def test_solve_stores_a_validated_proposal_authored_by_the_bot(world, reviewer, enqueued):
    world["add_skill"]("memoize", "fake-memoize")
    run = run_to_end(world["finding"], actor=reviewer)

    assert run.status == R.SUCCEEDED and run.attempts == 1
    proposal = Proposal.objects.get(finding=world["finding"])
    assert proposal.solve_run_id == run.pk and proposal.is_current
    assert proposal.skill_slug == "memoize" and proposal.skill_version is not None
    assert proposal.applies and proposal.tests_passed is True
    assert proposal.diff.startswith("diff --git a/tariffs/rates.py")
    assert len(proposal.diff_sha256) == 64 and proposal.base_commit
    assert proposal.requested_by == reviewer
    assert "cached zone_rate" in proposal.rationale
    world["finding"].refresh_from_db()
    assert world["finding"].status == Finding.Status.IN_REVIEW
    tools = [step["tool"] for step in run.trace]
    assert tools[0] == "attempt" and "get_function" in tools and "validate" in tools
    assert AuditEvent.objects.filter(verb="proposal.create", actor=bot_user()).exists()
    assert not bot_user().is_active


def test_the_trace_is_visible_while_the_solver_works(world, monkeypatch, enqueued):
    seen: list[list[str]] = []

    def watching_memoize(data: CodemodInput) -> CodemodResult:
        # Mid-solve, as the status endpoint would read it.
        run = SolveRun.objects.get(finding=world["finding"])
        seen.append([step["tool"] for step in run.trace])
        return fake_memoize(data)

    monkeypatch.setitem(codemods.REGISTRY, "watching", watching_memoize)
    world["add_skill"]("memoize", "watching")
    run = run_to_end(world["finding"])
    assert run.status == R.SUCCEEDED
    assert seen and {"attempt", "get_function", "outline_file", "rank_skills"} <= set(seen[0])
    assert len(run.trace) > len(seen[0])


def test_running_the_same_run_twice_makes_one_proposal(world, enqueued):
    world["add_skill"]("memoize", "fake-memoize")
    run = run_to_end(world["finding"])
    assert solve_run_execute(run_id=run.pk) is None  # finished: not claimable
    # A duplicate message after a lost status write: the revision is already stored.
    SolveRun.objects.filter(pk=run.pk).update(status=R.QUEUED)
    Finding.objects.filter(pk=run.finding_id).update(status=Finding.Status.SOLVING)
    again = solve_run_execute(run_id=run.pk)
    assert again.status == R.SUCCEEDED
    assert Proposal.objects.filter(finding=world["finding"]).count() == 1
    assert Proposal.objects.filter(finding=world["finding"], is_current=True).count() == 1


def test_a_new_revision_supersedes_the_current_proposal(world, reviewer, enqueued, monkeypatch):
    world["add_skill"]("memoize", "fake-memoize")
    first = run_to_end(world["finding"], actor=reviewer)
    # The same change again is no revision at all: the run says so, revision 1 stays.
    same = run_to_end(world["finding"], actor=reviewer)
    assert same.status == R.NO_FIX
    assert "could not revise: the solver proposed the same change as revision 1" in same.error
    assert Proposal.objects.filter(finding=world["finding"]).count() == 1
    world["finding"].refresh_from_db()
    assert world["finding"].status == Finding.Status.IN_REVIEW

    def bounded_memoize(data: CodemodInput) -> CodemodResult:
        result = fake_memoize(data)
        new = result.new_source.replace("maxsize=None", "maxsize=1024")
        return CodemodResult(new, "bounded cache", result.first_line, result.last_line)

    monkeypatch.setitem(codemods.REGISTRY, "fake-memoize", bounded_memoize)
    second = run_to_end(world["finding"], actor=reviewer)
    assert (first.revision, second.status) == (1, R.SUCCEEDED)
    proposals = {p.revision: p for p in Proposal.objects.filter(finding=world["finding"])}
    assert proposals[1].status == Proposal.Status.SUPERSEDED and not proposals[1].is_current
    assert proposals[2].is_current and proposals[2].status == Proposal.Status.PENDING


def test_no_fix_records_why_each_skill_was_refused(world, enqueued):
    world["add_skill"]("hoist", "fake-refuser")
    world["add_skill"]("breaker", "fake-breaker")
    run = run_to_end(world["finding"])
    assert run.status == R.NO_FIX
    reasons = {r["skill"]: r["reason"] for r in run.refusals}
    assert "nothing to hoist" in reasons["hoist"]
    assert "tests fail" in reasons["breaker"]
    assert not Proposal.objects.exists()
    world["finding"].refresh_from_db()
    assert world["finding"].status == Finding.Status.NO_FIX


def test_attempt_cap_gives_up_with_a_clear_message(world, settings, enqueued):
    settings.WATTSON_SOLVE_MAX_ATTEMPTS = 2
    world["add_skill"]("memoize", "fake-memoize")
    run = solve_request(finding=world["finding"], actor=None)
    # Two workers died mid-solve: the run is "running" with its deadline long past.
    SolveRun.objects.filter(pk=run.pk).update(
        status=R.RUNNING, attempts=2, deadline_at=timezone.now() - timedelta(minutes=1)
    )
    run = solve_run_execute(run_id=run.pk)
    assert run.status == R.FAILED and run.attempts == 3
    assert run.error == "gave up after 2 attempts; the worker died each time — see trace"
    assert not Proposal.objects.exists()
    world["finding"].refresh_from_db()
    assert world["finding"].status == Finding.Status.FAILED


def test_a_live_worker_keeps_its_run(world, enqueued):
    run = solve_request(finding=world["finding"], actor=None)
    SolveRun.objects.filter(pk=run.pk).update(
        status=R.RUNNING, attempts=1, deadline_at=timezone.now() + timedelta(minutes=5)
    )
    assert solve_run_execute(run_id=run.pk) is None
    assert SolveRun.objects.get(pk=run.pk).attempts == 1


@pytest.mark.parametrize("problem", ["no_repository", "path_gone", "not_git"])
def test_unusable_repository_fails_clearly_and_writes_nothing(world, enqueued, tmp_path, problem):
    world["add_skill"]("memoize", "fake-memoize")
    finding, repository = world["finding"], world["repository"]
    run = solve_request(finding=finding, actor=None)
    if problem == "no_repository":  # unregistered after the request (which would refuse it)
        Finding.objects.filter(pk=finding.pk).update(repository=None)
        Service.objects.filter(pk=finding.service_id).update(repository=None)
        expected = "no repository is registered for service postage"
    elif problem == "path_gone":
        Repository.objects.filter(pk=repository.pk).update(path=str(tmp_path / "gone"))
        expected = "does not exist"
    else:
        plain = tmp_path / "plain"
        plain.mkdir()
        Repository.objects.filter(pk=repository.pk).update(path=str(plain))
        expected = "is not a git work tree"
    run = solve_run_execute(run_id=run.pk)
    assert run.status == R.FAILED and expected in run.error
    assert not Proposal.objects.exists()
    finding.refresh_from_db()
    assert finding.status == Finding.Status.FAILED


def test_quality_bound_and_attention_reach_the_solver(world):
    skill = world["add_skill"]("memoize", "fake-memoize")
    world["add_skill"]("flagged", "fake-refuser", needs_attention=True)
    SkillStats.objects.create(skill=skill, approved=10, rejected=1, wilson_lower=0.8)
    specs = {spec.slug: spec for spec in skill_specs()}
    assert specs["memoize"].quality_lower_bound == 0.8
    assert specs["memoize"].version_id == skill.current_version.pk
    assert specs["flagged"].needs_attention and specs["flagged"].quality_lower_bound is None


def test_anthropic_without_a_key_falls_back_to_offline(world, enqueued, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    world["add_skill"]("memoize", "fake-memoize")
    run = run_to_end(world["finding"], backend="anthropic")
    assert run.status == R.SUCCEEDED
    note = next(step for step in run.trace if step["tool"] == "backend")
    assert "ANTHROPIC_API_KEY is not set" in note["summary"]


def test_anthropic_unavailable_fails_clearly_when_fallback_is_off(
    world, enqueued, monkeypatch, settings
):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings.WATTSON_ANTHROPIC_FALLBACK = "fail"
    world["add_skill"]("memoize", "fake-memoize")
    run = run_to_end(world["finding"], backend="anthropic")
    assert run.status == R.FAILED
    assert run.error == "the anthropic backend cannot run: ANTHROPIC_API_KEY is not set"
    assert not Proposal.objects.exists()


# --- sweeper ----------------------------------------------------------------------------------


def test_sweeper_requeues_lost_messages_and_dead_workers(world, enqueued):
    other = Finding.objects.create(
        kind="opportunity",
        source="scenario",
        external_id="other",
        payload_sha256="1" * 64,
        service=world["finding"].service,
        title="other",
        metric="cpu",
        magnitude_pct=1,
    )
    third = Finding.objects.create(
        kind="opportunity",
        source="scenario",
        external_id="third",
        payload_sha256="2" * 64,
        service=world["finding"].service,
        title="third",
        metric="cpu",
        magnitude_pct=1,
    )
    lost_message = solve_request(finding=world["finding"], actor=None)
    dead_worker = solve_request(finding=other, actor=None)
    alive = solve_request(finding=third, actor=None)
    past = timezone.now() - timedelta(seconds=1)
    SolveRun.objects.filter(pk=lost_message.pk).update(deadline_at=past)
    SolveRun.objects.filter(pk=dead_worker.pk).update(
        status=R.RUNNING, attempts=1, deadline_at=past
    )
    SolveRun.objects.filter(pk=alive.pk).update(
        status=R.RUNNING, attempts=1, deadline_at=timezone.now() + timedelta(minutes=5)
    )
    enqueued.clear()

    result = sweep_solve_runs()

    assert result == {"requeued": [lost_message.pk], "recovered": [dead_worker.pk]}
    assert sorted(enqueued) == sorted([lost_message.pk, dead_worker.pk])
    dead_worker.refresh_from_db()
    assert dead_worker.status == R.QUEUED and dead_worker.deadline_at > timezone.now()
    assert dead_worker.trace[-1]["tool"] == "sweeper"
    assert SolveRun.objects.get(pk=alive.pk).status == R.RUNNING
    assert sweep_solve_runs() == {"requeued": [], "recovered": []}


def test_sweeper_removes_worktrees_left_by_killed_workers(db, settings, tmp_path):
    import os

    settings.WATTSON_WORK_DIR = tmp_path
    old, fresh = tmp_path / "solve-old", tmp_path / "solve-fresh"
    old.mkdir()
    fresh.mkdir()
    os.utime(old, (1, 1))
    sweep_solve_runs()
    assert not old.exists() and fresh.exists()


def test_sweep_schedule_is_registered(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="reviews.tasks.sweep_solve_runs")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


def test_system_check_refuses_retry_not_above_timeout(monkeypatch):
    from django_q.conf import Conf

    from reviews.apps import check_queue_timing

    assert check_queue_timing() == []
    monkeypatch.setattr(Conf, "RETRY", Conf.TIMEOUT)
    errors = check_queue_timing()
    assert errors and errors[0].id == "reviews.E001"


# --- auto-solve -------------------------------------------------------------------------------


def test_auto_solve_on_ingest_honours_setting_and_source(world, settings, enqueued):
    finding = world["finding"]
    settings.WATTSON_AUTO_SOLVE = False
    assert auto_solve_findings([finding.pk]) == []
    settings.WATTSON_AUTO_SOLVE = True
    Source.objects.create(name=finding.source, auto_solve=False)
    assert auto_solve_findings([finding.pk]) == []
    Source.objects.filter(name=finding.source).update(auto_solve=True)
    queued = auto_solve_findings([finding.pk])
    assert len(queued) == 1 and SolveRun.objects.get().pk == queued[0]


def test_auto_solve_is_registered_as_a_post_ingest_hook():
    from reviews.services.ingest import POST_INGEST_HOOKS

    assert auto_solve_findings in POST_INGEST_HOOKS


# --- web --------------------------------------------------------------------------------------


def test_reviewer_requests_a_fix_from_the_finding_page(world, reviewer, client_for, enqueued):
    client = client_for(reviewer)
    response = client.post(f"/findings/{world['finding'].pk}/solve/", {"backend": "offline"})
    assert response.status_code == 302
    run = SolveRun.objects.get()
    assert run.requested_by == reviewer and run.backend == "offline"
    page = client.get(f"/findings/{world['finding'].pk}/")
    assert b'id="solve-panel"' in page.content and b'data-active="1"' in page.content
    assert b"solve_status.js" in page.content and b"Request fix" not in page.content


def test_status_endpoint_reports_the_run(world, reviewer, manager, client_for, enqueued):
    world["add_skill"]("memoize", "fake-memoize")
    run = run_to_end(world["finding"], actor=reviewer)
    data = client_for(manager).get(f"/findings/{world['finding'].pk}/solve/status/").json()
    assert data["active"] is False and data["finding_status"] == "in_review"
    assert data["run"]["id"] == run.pk and data["run"]["status"] == "succeeded"
    assert data["proposal"]["skill"] == "memoize"
    fragment = client_for(manager).get(f"/findings/{world['finding'].pk}/solve/status/?format=html")
    assert b'id="solve-panel"' in fragment.content


def test_managers_and_outsiders_cannot_request_fixes(world, manager, outsider, client_for):
    url = f"/findings/{world['finding'].pk}/solve/"
    assert client_for(manager).post(url).status_code == 403
    page = client_for(manager).get(f"/findings/{world['finding'].pk}/")
    assert b"Request fix" not in page.content
    assert client_for(outsider).post(url).status_code in (403, 404)
    assert client_for(outsider).get(f"{url}status/").status_code in (403, 404)
    assert not SolveRun.objects.exists()


def test_anonymous_and_bad_requests(world, reviewer, client, client_for):
    url = f"/findings/{world['finding'].pk}/solve/"
    assert client.post(url).status_code == 302
    assert client.get(f"{url}status/").status_code == 302
    reviewer_client = client_for(reviewer)
    assert reviewer_client.get(url).status_code == 405
    bad = reviewer_client.post(url, {"backend": "gpt"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and "offline or anthropic" in bad.json()["error"]
    assert reviewer_client.post("/findings/999999/solve/").status_code == 404
    assert not SolveRun.objects.exists()


def test_request_fix_needs_csrf(world, reviewer):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(reviewer)
    assert csrf_client.post(f"/findings/{world['finding'].pk}/solve/").status_code == 403
    assert not SolveRun.objects.exists()


# --- CLI --------------------------------------------------------------------------------------


def test_cli_solve_wait_and_proposal_json(world):
    world["add_skill"]("memoize", "fake-memoize")
    out = StringIO()
    call_command("solve", str(world["finding"].pk), "--wait", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["status"] == "succeeded" and document["finding"] == world["finding"].pk
    out = StringIO()
    call_command("proposal", str(document["proposal"]), "--json", stdout=out)
    shown = json.loads(out.getvalue())
    assert set(shown) == {
        "id",
        "finding",
        "revision",
        "status",
        "skill",
        "diff",
        "rationale",
        "estimated_watts",
        "validation",
    }
    assert shown["skill"] == "memoize" and shown["validation"]["tests_passed"] is True
    assert shown["validation"]["applies"] is True
    # The spec's keys, extended with the regression baseline and the measured recovery.
    assert set(shown["validation"]) >= {
        "applies",
        "tests_passed",
        "bench_before_s",
        "bench_after_s",
        "bench_parent_s",
        "measured_recovery",
    }


def test_cli_solve_queues_without_wait(world, enqueued, django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("solve", str(world["finding"].pk), "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["status"] == "queued" and document["proposal"] is None
    assert enqueued == [document["run"]]


def test_cli_errors_exit_non_zero(world, tmp_path):
    with pytest.raises(CommandError) as missing:
        call_command("solve", "999999", "--json", stdout=StringIO())
    assert missing.value.returncode == 1
    with pytest.raises(CommandError) as no_proposal:
        call_command("proposal", "999999", stdout=StringIO())
    assert no_proposal.value.returncode == 1
    Repository.objects.filter(pk=world["repository"].pk).update(path=str(tmp_path / "gone"))
    with pytest.raises(CommandError) as failed:
        call_command("solve", str(world["finding"].pk), "--wait", stdout=StringIO())
    assert failed.value.returncode == 1 and "does not exist" in str(failed.value)
