"""Every scenario, end to end: register, ingest, solve with the real skills and codemods.

tests/scenarios/ has one repository per codemod skill; ../shared/scenarios, when present, is an
optional extra check (marker `shared_scenarios`).

Asserts what a reviewer relies on: the expected skill was chosen, the diff applies to a fresh
clone, the repository's tests pass with it there, and the benchmark measured at least 1.3x faster.
"""

from __future__ import annotations

import shlex
import subprocess

import pytest

from reviews.models import Finding, Proposal, SolveRun
from reviews.services.ingest import finding_ingest
from reviews.services.repositories import repository_register
from reviews.services.solving import solve_request, solve_run_execute
from tests.conftest import shared_scenario_params
from tests.scenarios import SCENARIO_NAMES


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_scenario_is_solved_with_its_expected_skill(name, scenario, db, settings, tmp_path):
    assert_solved_with_expected_skill(name, scenario(name), settings, tmp_path)


@pytest.mark.parametrize("name", shared_scenario_params())
def test_shared_scenario_is_solved_with_its_expected_skill(
    name, shared_scenario, db, settings, tmp_path
):
    assert_solved_with_expected_skill(name, shared_scenario(name), settings, tmp_path)


def assert_solved_with_expected_skill(name: str, built: dict, settings, tmp_path) -> None:
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    meta, payload = built["meta"], dict(built["finding"])
    repository_register(
        name=name,
        path=str(built["path"]),
        service_name=payload["service"],
        test_cmd=meta["test_cmd"],
        bench_cmd=meta["bench_cmd"],
        branch="main",
        actor=None,
    )
    result = finding_ingest(payload={**payload, "repository": name}, actor=None)
    assert not result.errors, result.errors
    finding = Finding.objects.get(pk=result.created[0])

    run = solve_request(finding=finding, actor=None, enqueue=False)
    run = solve_run_execute(run_id=run.pk)

    assert run.status == SolveRun.Status.SUCCEEDED, (run.error, run.refusals)
    proposal = Proposal.objects.get(finding=finding, is_current=True)
    assert proposal.skill_slug == meta["expected_skill"], run.refusals
    assert proposal.applies and proposal.tests_passed is True
    assert proposal.bench_before_s and proposal.bench_after_s
    speedup = proposal.bench_before_s / proposal.bench_after_s
    assert speedup >= 1.3, proposal.bench_log
    assert f"{proposal.bench_before_s:.4f} s before" in proposal.rationale
    if payload["kind"] == "regression":
        # Recovery is the share of the regression undone, against the root cause's parent.
        assert proposal.bench_parent_s is not None, proposal.rationale
        assert proposal.bench_parent_s < proposal.bench_before_s
        assert proposal.measured_recovery >= 0.5, proposal.bench_log
        assert "of the regression undone" in proposal.rationale
    else:
        assert proposal.bench_parent_s is None

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(built["path"]), str(clone)], check=True)
    subprocess.run(
        ["git", "-C", str(clone), "apply", "--check", "-"],
        input=proposal.diff,
        text=True,
        check=True,
    )
    subprocess.run(
        ["git", "-C", str(clone), "apply", "-"], input=proposal.diff, text=True, check=True
    )
    tests = subprocess.run(
        shlex.split(meta["test_cmd"]), cwd=clone, capture_output=True, text=True, timeout=120
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
