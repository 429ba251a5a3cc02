"""A regression fix's measured recovery is the share of the regression it undoes.

The finding's magnitude is the increase the root cause caused, so a fix that fully undoes a 2.5×
regression must count as 100% recovery, not the 60% of benchmark time it removes.
"""

from __future__ import annotations

import shlex

import pytest

from skills import codemods
from skills.solver.offline import solve
from skills.solver.types import Validation
from tests.reviews.test_proposal_page import make_proposal, page, two_file_change
from tests.skills.test_solver import FLEET, context_for, fake_memoize, fake_revert, git, skill


@pytest.fixture
def fakes(monkeypatch, settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    monkeypatch.setitem(codemods.REGISTRY, "fake-memoize", fake_memoize)
    monkeypatch.setitem(codemods.REGISTRY, "fake-revert", fake_revert)
    return settings.WATTSON_WORK_DIR


def test_opportunity_recovery_is_the_share_of_benchmark_time_removed():
    assert Validation(bench_before_s=0.2, bench_after_s=0.05).measured_recovery == pytest.approx(
        0.75
    )
    # Slower after: nothing recovered, never negative.
    assert Validation(bench_before_s=0.2, bench_after_s=0.3).measured_recovery == 0.0
    assert Validation(bench_before_s=0.2, bench_after_s=None).measured_recovery is None


def test_regression_recovery_is_the_share_of_the_regression_undone():
    def recovery(after: float) -> float | None:
        return Validation(
            bench_before_s=0.175, bench_after_s=after, bench_parent_s=0.07
        ).measured_recovery

    # A 2.5× regression fully undone: 100%, where 1 - after/before would say 60%.
    assert recovery(0.07) == pytest.approx(1.0)
    assert recovery(0.1225) == pytest.approx(0.5)  # half of the 0.105 s increase
    assert recovery(0.05) == 1.0  # faster than before the regression: clipped
    assert recovery(0.2) == 0.0
    # A parent no faster than the head cannot define a regression: the old definition.
    same = Validation(bench_before_s=0.2, bench_after_s=0.1, bench_parent_s=0.2)
    assert same.measured_recovery == pytest.approx(0.5)


def test_regression_fix_records_the_parent_and_recovers_most_of_the_regression(scenario, fakes):
    built = scenario("rank_revert")
    repo = built["path"]
    commit = built["finding"]["root_cause"]["commit"]
    ctx = context_for(
        built,
        skill("revert-hunk", "fake-revert", name="Revert hunk"),
        bench_cmd=built["meta"]["bench_cmd"],
    )

    candidate = solve(ctx, bench_runs=3)

    assert candidate.outcome == "proposal", candidate.refusals
    validation = candidate.validation
    before, after, parent = (
        validation.bench_before_s,
        validation.bench_after_s,
        validation.bench_parent_s,
    )
    assert parent is not None, validation.bench_parent_note
    assert parent < before and after < before
    recovery = validation.measured_recovery
    assert recovery == pytest.approx((before - after) / (before - parent) if after > parent else 1)
    # The whole-file revert restores the parent's code: most of the regression is undone, which
    # the old 1 - after/before would understate.
    assert recovery >= 0.8
    assert recovery > 1 - after / before
    assert candidate.measured_watts == pytest.approx(FLEET.watts(ctx.magnitude_pct, recovery))
    assert candidate.estimated_watts == pytest.approx(
        FLEET.watts(ctx.magnitude_pct, candidate.expected_recovery)
    )
    text = candidate.rationale
    assert f"({parent:.4f} s → {before:.4f} s)" in text
    assert f"the fix brings it to {after:.4f} s: {recovery:.0%} of the regression undone" in text
    assert "share of the regression undone" in text  # the savings line says which recovery
    record = next(r for r in candidate.trace if r.tool == "bench_parent")
    assert record.arguments["rev"] == f"{commit[:12]}^" and not record.error
    assert "before the regression" in record.summary
    assert "before the regression" in validation.bench_log
    # The parent's worktree, like the others, is gone.
    assert "solve-" not in git(repo, "worktree", "list")
    assert list(fakes.iterdir()) == []


def test_a_benchmark_that_fails_at_the_parent_keeps_the_old_definition(scenario, fakes):
    built = scenario("rank_revert")
    repo = built["path"]
    # A later commit adds what the benchmark needs, so it cannot run before the root cause.
    (repo / "bench_ready").write_text("yes\n")
    git(repo, "add", "bench_ready")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "ready")
    bench = (
        "import os, runpy, sys\n"
        "os.path.exists('bench_ready') or sys.exit('bench_ready is missing')\n"
        "runpy.run_path('bench.py', run_name='__main__')"
    )
    ctx = context_for(
        built,
        skill("revert-hunk", "fake-revert"),
        bench_cmd=f"python3 -c {shlex.quote(bench)}",
    )

    candidate = solve(ctx, bench_runs=3)

    assert candidate.outcome == "proposal", candidate.refusals
    validation = candidate.validation
    assert validation.bench_parent_s is None
    before, after = validation.bench_before_s, validation.bench_after_s
    assert validation.measured_recovery == pytest.approx(1 - after / before)
    assert candidate.measured_watts == pytest.approx(
        FLEET.watts(ctx.magnitude_pct, 1 - after / before)
    )
    record = next(r for r in candidate.trace if r.tool == "bench_parent")
    assert "fails at the root-cause commit's parent" in record.summary
    assert "bench_ready is missing" in record.error
    assert "not the share of the regression undone" in candidate.rationale
    assert "fails at the root-cause commit's parent" in candidate.rationale
    assert list(fakes.iterdir()) == []


def test_an_opportunity_never_benchmarks_a_parent(scenario, fakes):
    built = scenario("tariff_memoize")
    ctx = context_for(built, skill("memoize", "fake-memoize"), bench_cmd="python3 bench.py")
    candidate = solve(ctx, bench_runs=1)
    assert candidate.outcome == "proposal", candidate.refusals
    assert candidate.validation.bench_parent_s is None
    assert "bench_parent" not in [r.tool for r in candidate.trace]
    assert "regression undone" not in candidate.rationale


def test_proposal_page_shows_the_time_before_the_regression(client_for, reviewer, db, tmp_path):
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    proposal = make_proposal(
        repo_path=repo,
        base=base,
        diff=diff,
        bench_before_s=0.18,
        bench_after_s=0.07,
        bench_parent_s=0.07,
        measured_recovery=1.0,
        measured_watts=1000.0,
    )
    html = page(client_for(reviewer), proposal)
    assert "before the regression: 0.0700 s" in html
    assert "100% of the regression undone" in html


def test_proposal_page_without_a_parent_says_benchmark_time(client_for, reviewer, db, tmp_path):
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    proposal = make_proposal(
        repo_path=repo, base=base, diff=diff, measured_recovery=0.75, measured_watts=750.0
    )
    html = page(client_for(reviewer), proposal)
    assert "before the regression" not in html
    assert "75% of the benchmark time removed" in html


@pytest.fixture
def llm(settings, monkeypatch, tmp_path):
    """llm(script) -> a started fake Anthropic API the backend is configured to use."""
    from tests.fakes.anthropic_api import FakeAnthropicAPI

    settings.WATTSON_WORK_DIR = tmp_path / "work"
    started = []

    def start(script):
        api = FakeAnthropicAPI(script).start()
        started.append(api)
        settings.ANTHROPIC_BASE_URL = api.base_url
        monkeypatch.setenv("ANTHROPIC_API_KEY", api.api_key)
        return api

    yield start
    for api in started:
        api.stop()


def test_the_anthropic_backend_measures_the_regression_the_same_way(scenario, llm):
    from skills.solver import anthropic_backend
    from tests.fakes import llm_scripts

    built = scenario("label_regex")
    llm(
        [
            *llm_scripts.investigate(),
            llm_scripts.propose(llm_scripts.precompile_diff(built["path"])),
        ]
    )
    ctx = llm_scripts.context_for(built, bench_cmd=built["meta"]["bench_cmd"])

    candidate = anthropic_backend.solve(ctx, bench_runs=3)

    assert candidate.outcome == "proposal", candidate.no_fix_reason
    validation = candidate.validation
    assert validation.bench_parent_s is not None, validation.bench_parent_note
    before, after, parent = (
        validation.bench_before_s,
        validation.bench_after_s,
        validation.bench_parent_s,
    )
    assert validation.measured_recovery == pytest.approx(
        max(0.0, min(1.0, (before - after) / (before - parent)))
    )
    assert candidate.measured_watts == pytest.approx(
        ctx.fleet.watts(ctx.magnitude_pct, validation.measured_recovery)
    )
    assert "of the regression undone" in candidate.rationale
    assert [r.tool for r in candidate.trace].count("bench_parent") == 1


def test_a_short_time_budget_skips_the_parent_with_a_note(scenario, fakes, settings):
    settings.WATTSON_MIN_PARENT_BUDGET_S = 10_000
    built = scenario("rank_revert")
    ctx = context_for(
        built, skill("revert-hunk", "fake-revert"), bench_cmd=built["meta"]["bench_cmd"]
    )

    candidate = solve(ctx, bench_runs=1)

    assert candidate.outcome == "proposal", candidate.refusals
    validation = candidate.validation
    assert validation.bench_parent_s is None
    before, after = validation.bench_before_s, validation.bench_after_s
    assert validation.measured_recovery == pytest.approx(1 - after / before)
    record = next(r for r in candidate.trace if r.tool == "bench_parent")
    assert "of the solve's time budget was left" in record.summary
    assert "time budget was left" in candidate.rationale
