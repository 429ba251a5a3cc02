"""End to end: a model's fix carrying a symlink retarget is never shown as a validated proposal.

Issue #10 item 6 found a model-written revision that retargeted a symlink presented as
"validation passed". Here the rider leaves the mode out (only the repository's tree shows it is
a symlink) and rides on the scenario's genuine fix, through the worker's own services.
"""

from __future__ import annotations

import os

import pytest

from reviews.models import Finding, Proposal, SolveRun
from reviews.services import solving
from reviews.services.ingest import finding_ingest
from reviews.services.repositories import repository_register
from reviews.services.solving import solve_request, solve_run_execute
from tests.fakes.anthropic_api import FakeAnthropicAPI
from tests.fakes.llm_scripts import LABELS_FILE, precompile, propose
from tests.support.symlink_patches import LINK, LINK_TARGET, add_symlink, hostile_diffs


@pytest.fixture
def labels_finding(db, scenario, settings, tmp_path, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_AUTO_SOLVE = False
    settings.ANTHROPIC_MAX_RETRIES = 1
    monkeypatch.setattr(solving, "solve_run_enqueue", lambda *, run_id: None)
    built = scenario("label_regex")
    add_symlink(built["path"])
    repository_register(
        name="labels",
        path=str(built["path"]),
        service_name=built["finding"]["service"],
        test_cmd=built["meta"]["test_cmd"],
        bench_cmd="",
        branch="main",
        actor=None,
    )
    result = finding_ingest(payload={**built["finding"], "repository": "labels"}, actor=None)
    assert not result.errors, result.errors
    return built, Finding.objects.get(pk=result.created[0])


@pytest.fixture
def llm(settings, monkeypatch):
    started: list[FakeAnthropicAPI] = []

    def start(script) -> FakeAnthropicAPI:
        api = FakeAnthropicAPI(script).start()
        started.append(api)
        settings.ANTHROPIC_BASE_URL = api.base_url
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
        return api

    yield start
    for api in started:
        api.stop()


def test_a_model_fix_that_retargets_a_symlink_is_never_proposed(
    labels_finding, llm, reviewer, client_for
):
    built, finding = labels_finding
    path = built["path"]
    fixed = precompile((path / LABELS_FILE).read_text())
    rider = hostile_diffs(path, fix_path=LABELS_FILE, fixed_text=fixed)[
        "symlink-retarget-mode-unstated"
    ]
    llm([propose(rider), propose(rider)])

    run = solve_run_execute(
        run_id=solve_request(finding=finding, actor=reviewer, backend="anthropic").pk
    )

    assert run.status == SolveRun.Status.FAILED
    assert "refused twice" in run.error and "symlink" in run.error
    assert not Proposal.objects.filter(finding=finding).exists()
    assert not any(step["tool"] == "validate" for step in run.trace)
    assert os.readlink(path / LINK) == LINK_TARGET
    page = client_for(reviewer).get(finding.get_absolute_url()).content.decode()
    assert "symlink" in page
    assert "tests pass" not in page and "applies cleanly" not in page
