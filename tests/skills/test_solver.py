"""The offline solver on scenario repositories, with small fake codemods registered per test.

The fakes stand in for the real LibCST codemods so the pipeline (context, ranking, validation,
refusals, rationale) is tested on its own; tests/reviews/test_solve_scenarios.py runs the real ones.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from skills import codemods
from skills.codemods import CodemodInput, CodemodRefused, CodemodResult
from skills.selection import QUALITY_PRIOR, rank_skills
from skills.solver.offline import solve
from skills.solver.types import Fleet, FunctionRef, RootCause, SkillSpec, SolveContext

FLEET = Fleet(servers=1000, watts_per_server=350.0, pue=1.2, price_per_kwh=0.12)


def skill(slug: str, codemod: str = "", **overrides) -> SkillSpec:
    values = {
        "slug": slug,
        "name": slug.replace("-", " ").title(),
        "side": "both",
        "description": f"{slug} removes repeated work from a hot path.",
        "trigger": {},
        "instructions": f"Look for the {slug} shape.",
        "mitigation": f"Apply {slug}.",
        "codemod": codemod,
        "expected_recovery": 0.5,
        "version_id": None,
    }
    values.update(overrides)
    return SkillSpec(**values)


def context_for(built: dict, *skills: SkillSpec, **overrides) -> SolveContext:
    finding = built["finding"]
    root_cause = finding.get("root_cause")
    values = {
        "finding_id": 1,
        "kind": finding["kind"],
        "title": finding["title"],
        "metric": finding["metric"],
        "magnitude_pct": finding["magnitude_pct"],
        "service": finding["service"],
        "repo_path": str(built["path"]),
        "default_branch": "main",
        "functions": tuple(FunctionRef(f["symbol"], f.get("file")) for f in finding["functions"]),
        "fleet": FLEET,
        "root_cause": RootCause(root_cause["commit"]) if root_cause else None,
        "pattern": finding.get("pattern", ""),
        "test_cmd": built["meta"]["test_cmd"],
        # Benchmarks cost seconds; the tests that are about them ask for them.
        "bench_cmd": "",
        "skills": skills,
    }
    values.update(overrides)
    return SolveContext(**values)


def fake_memoize(data: CodemodInput) -> CodemodResult:
    """lru_cache on the target: right for tariff_memoize, whose inputs repeat."""
    name = data.qualname.split(".")[-1]
    marker = f"def {name}("
    if marker not in data.source:
        raise CodemodRefused(f"{name} is not defined here")
    line = data.source[: data.source.index(marker)].count("\n") + 1
    new = data.source.replace(marker, f"@functools.lru_cache(maxsize=None)\n{marker}", 1)
    return CodemodResult("import functools\n" + new, f"cached {name} with lru_cache", line, line)


def fake_breaker(data: CodemodInput) -> CodemodResult:
    """A 'fix' that changes the result: validation must catch it."""
    if "return cents\n" not in data.source:
        raise CodemodRefused("no cents to return")
    new = data.source.replace("return cents\n", "return 0\n", 1)
    return CodemodResult(new, "returns a constant price", 50, 50)


def fake_refuser(data: CodemodInput) -> CodemodResult:
    raise CodemodRefused(f"{data.qualname} has no loop to hoist from")


def fake_revert(data: CodemodInput) -> CodemodResult:
    """Whole-file revert to the root cause's parent (the real revert-hunk is finer)."""
    if data.root_cause_before is None:
        raise CodemodRefused("no root cause")
    return CodemodResult(data.root_cause_before, "reverted the root-cause change", 1, 1)


@pytest.fixture
def fakes(monkeypatch, settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    for name, func in {
        "fake-memoize": fake_memoize,
        "fake-breaker": fake_breaker,
        "fake-refuser": fake_refuser,
        "fake-revert": fake_revert,
    }.items():
        monkeypatch.setitem(codemods.REGISTRY, name, func)
    return settings.WATTSON_WORK_DIR


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    ).stdout


# --- ranking -------------------------------------------------------------------------------------


def _ctx(*skills: SkillSpec, kind: str = "opportunity", **overrides) -> SolveContext:
    values = {
        "finding_id": 1,
        "kind": kind,
        "title": "t",
        "metric": "cpu",
        "magnitude_pct": 1.0,
        "service": "svc",
        "repo_path": "/nonexistent",
        "default_branch": "main",
        "functions": (FunctionRef("pkg.mod.func", "pkg/mod.py"),),
        "fleet": FLEET,
        "skills": skills,
    }
    values.update(overrides)
    return SolveContext(**values)


def test_ranking_orders_by_quality_then_puts_flagged_and_fallback_last():
    ctx = _ctx(
        skill("revert-hunk", "x"),
        skill("weak", "x", quality_lower_bound=0.2),
        skill("new", "x"),
        skill("proven", "x", quality_lower_bound=0.9),
        skill("flagged", "x", quality_lower_bound=0.95, needs_attention=True),
        kind="regression",
        root_cause=RootCause("abc"),
    )
    ranked, not_applicable = rank_skills(ctx, {})
    assert [r.slug for r in ranked] == ["proven", "new", "weak", "revert-hunk", "flagged"]
    assert ranked[1].quality == QUALITY_PRIOR
    assert not_applicable == []


def test_ranking_pattern_hint_boosts_its_skill():
    ctx = _ctx(skill("a", "x", quality_lower_bound=0.7), skill("memoize", "x"), pattern="memoize")
    ranked, _ = rank_skills(ctx, {})
    assert [r.slug for r in ranked] == ["memoize", "a"]


def test_ranking_filters_by_trigger_and_says_why():
    ctx = _ctx(
        skill("defense-only", "x", side="defense"),
        skill("needs-rc", "x", trigger={"needs_root_cause": True}),
        skill("memory", "x", trigger={"metrics": ["memory"]}),
        skill("js", "x", trigger={"file_globs": ["*.js"]}),
        skill("named", "x", trigger={"symbol_pattern": r"\.other$"}),
        skill("ok", "x", trigger={"kinds": ["opportunity"], "file_globs": ["*.py"]}),
    )
    ranked, not_applicable = rank_skills(ctx, {})
    assert [r.slug for r in ranked] == ["ok"]
    reasons = {item["skill"]: item["reason"] for item in not_applicable}
    assert set(reasons) == {"defense-only", "needs-rc", "memory", "js", "named"}
    assert "root-cause" in reasons["needs-rc"]
    assert "memory" in reasons["memory"]


def test_ranking_prefers_skills_whose_code_patterns_appear():
    ctx = _ctx(
        skill("regex", "x", trigger={"code_patterns": [r"re\.(match|fullmatch)\("]}),
        skill("join", "x", trigger={"code_patterns": [r"\+="]}),
    )
    ranked, _ = rank_skills(ctx, {"pkg.mod.func": "    m = re.fullmatch(p, s)\n"})
    assert [r.slug for r in ranked] == ["regex", "join"]
    assert ranked[0].score > ranked[1].score


def test_a_skill_with_no_code_pattern_ranks_between_a_hit_and_a_miss():
    # A generic codemod (inline-trivial-helper) fits every function: it must not tie with, and
    # by its slug beat, a skill whose pattern is in the code.
    ctx = _ctx(
        skill("a-generic", "x", trigger={"code_patterns": []}),
        skill("regex", "x", trigger={"code_patterns": [r"re\.(match|fullmatch)\("]}),
        skill("join", "x", trigger={"code_patterns": [r"\+="]}),
    )
    ranked, _ = rank_skills(ctx, {"pkg.mod.func": "    m = re.fullmatch(p, s)\n"})
    assert [r.slug for r in ranked] == ["regex", "a-generic", "join"]
    assert "no code pattern: the codemod decides" in ranked[1].reasons


# --- solving ------------------------------------------------------------------------------


def test_solve_produces_validated_proposal_with_concrete_rationale(scenario, fakes):
    built = scenario("tariff_memoize")
    repo = built["path"]
    head = git(repo, "rev-parse", "HEAD").strip()
    ctx = context_for(
        built,
        skill("memoize", "fake-memoize", name="Memoize"),
        bench_cmd=built["meta"]["bench_cmd"],
    )

    candidate = solve(ctx, bench_runs=1)

    assert candidate.outcome == "proposal", candidate.refusals
    assert candidate.skill_slug == "memoize"
    assert candidate.diff.startswith("diff --git a/tariffs/rates.py b/tariffs/rates.py")
    check = subprocess.run(
        ["git", "-C", str(repo), "apply", "--check", "-"], input=candidate.diff, text=True
    )
    assert check.returncode == 0
    validation = candidate.validation
    assert validation.applies and validation.tests_passed is True
    assert validation.bench_before_s > validation.bench_after_s  # 1.3x+ is the scenario tests
    assert validation.base_commit == head
    text = candidate.rationale
    source_lines = (repo / "tariffs" / "rates.py").read_text().splitlines()
    def_line = source_lines.index("def zone_rate(country, grams):") + 1
    assert "`tariffs/rates.py`" in text and f"line {def_line}" in text
    assert "cached zone_rate with lru_cache" in text
    assert f"{validation.bench_before_s:.4f} s before" in text
    # Estimated savings use the skill's expected recovery, measured ones what was measured.
    expected = FLEET.watts(ctx.magnitude_pct, candidate.expected_recovery)
    assert candidate.estimated_watts == pytest.approx(expected)
    measured = FLEET.watts(ctx.magnitude_pct, validation.measured_recovery)
    assert candidate.measured_watts == pytest.approx(measured)
    tools = [record.tool for record in candidate.trace]
    assert "get_function" in tools and "outline_file" in tools and "validate" in tools
    # The user's work tree and branches are untouched, and the scratch worktree is gone.
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert "solve-" not in git(repo, "worktree", "list")
    assert list(fakes.iterdir()) == []


def test_a_change_that_breaks_tests_is_never_presented(scenario, fakes):
    built = scenario("tariff_memoize")
    ctx = context_for(
        built,
        skill("breaker", "fake-breaker", quality_lower_bound=0.99),
        skill("memoize", "fake-memoize"),
        pattern="",
    )

    candidate = solve(ctx, bench_runs=1)

    assert candidate.outcome == "proposal"
    assert candidate.skill_slug == "memoize"
    assert [r.tool for r in candidate.trace].count("validate") == 2
    refusal = next(r for r in candidate.refusals if r["skill"] == "breaker")
    assert "tests fail" in refusal["reason"]
    assert "FAILED" in refusal["reason"] or "Error" in refusal["reason"]


def test_no_fix_lists_the_reason_each_skill_was_refused(scenario, fakes):
    built = scenario("tariff_memoize")
    ctx = context_for(
        built,
        skill("breaker", "fake-breaker"),
        skill("hoist", "fake-refuser"),
        skill("defense", "fake-memoize", side="defense"),
    )

    candidate = solve(ctx, bench_runs=1)

    assert candidate.outcome == "no_fix"
    assert candidate.diff == ""
    reasons = {r["skill"]: r["reason"] for r in candidate.refusals}
    assert "tests fail" in reasons["breaker"]
    assert "has no loop to hoist from" in reasons["hoist"]
    assert reasons["defense"].startswith("not applicable")
    assert "breaker" in candidate.no_fix_reason and "hoist" in candidate.no_fix_reason


def test_diagnosis_only_skill_gives_an_analysis_when_no_codemod_passes(scenario, fakes):
    built = scenario("tariff_memoize")
    ctx = context_for(
        built,
        skill("breaker", "fake-breaker"),
        skill(
            "profile-guide",
            "",
            instructions="Profile the tariff scan with cProfile.",
            # A diagnosis-only skill is offered only when its own trigger matches the code.
            trigger={"code_patterns": [r"\bfor\b"]},
        ),
    )

    candidate = solve(ctx, bench_runs=1)

    assert candidate.outcome == "analysis"
    assert candidate.skill_slug == "profile-guide"
    assert candidate.diff == ""
    assert "Analysis only" in candidate.rationale
    assert "Profile the tariff scan" in candidate.rationale


def test_a_passing_codemod_beats_a_diagnosis_only_skill(scenario, fakes):
    built = scenario("tariff_memoize")
    ctx = context_for(
        built,
        skill("profile-guide", "", quality_lower_bound=0.99),
        skill("memoize", "fake-memoize"),
    )
    assert solve(ctx, bench_runs=1).outcome == "proposal"


def test_regression_rationale_names_the_root_cause_commit(scenario, fakes):
    built = scenario("rank_revert")
    repo = built["path"]
    commit = built["finding"]["root_cause"]["commit"]
    subject = git(repo, "show", "-s", "--format=%s", commit).strip()
    ctx = context_for(built, skill("revert-hunk", "fake-revert", name="Revert hunk"))

    candidate = solve(ctx, bench_runs=1)

    assert candidate.outcome == "proposal", candidate.refusals
    assert commit[:10] in candidate.rationale and subject in candidate.rationale
    tools = [record.tool for record in candidate.trace]
    assert "root_cause_commit" in tools and "file_at_revision" in tools
    file_call = next(r for r in candidate.trace if r.tool == "file_at_revision")
    assert file_call.arguments["rev"] == f"{commit}^" and not file_call.error


def test_a_reviewer_asking_for_changes_never_gets_the_same_diff_back(scenario, fakes):
    built = scenario("tariff_memoize")
    first = solve(context_for(built, skill("memoize", "fake-memoize")), bench_runs=1)
    ctx = context_for(
        built,
        skill("memoize", "fake-memoize"),
        reviewer_comment="use a dict instead",
        previous_diff=first.diff,
    )

    again = solve(ctx, bench_runs=1)

    assert again.outcome == "no_fix"
    assert "same diff" in again.refusals[0]["reason"]


def test_missing_function_is_no_fix_with_reason(scenario, fakes):
    built = scenario("tariff_memoize")
    ctx = context_for(
        built,
        skill("memoize", "fake-memoize"),
        functions=(FunctionRef("tariffs.rates.nope", "tariffs/rates.py"),),
    )
    candidate = solve(ctx, bench_runs=1)
    assert candidate.outcome == "no_fix"
    assert "tariffs.rates.nope" in candidate.no_fix_reason


def test_a_root_cause_that_is_not_a_sha_never_reaches_git(scenario, fakes, tmp_path):
    built = scenario("rank_revert")
    target = tmp_path / "written-by-git"
    ctx = context_for(
        built,
        skill("revert-hunk", "fake-revert"),
        root_cause=RootCause(f"--output={target}"),
    )
    candidate = solve(ctx, bench_runs=1)
    assert not target.exists()
    assert candidate.outcome == "no_fix"
    assert "no root cause" in candidate.refusals[0]["reason"]


def test_slow_tests_time_out_inside_the_solve_budget(scenario, fakes, settings):
    import time

    settings.WATTSON_SOLVE_TIMEOUT_S = 12  # a 9.6 s budget: the tests get half of it
    built = scenario("tariff_memoize")
    ctx = context_for(
        built,
        skill("memoize", "fake-memoize"),
        test_cmd="python3 -c 'import time; time.sleep(60)'",
    )
    started = time.monotonic()
    candidate = solve(ctx, bench_runs=1)
    assert time.monotonic() - started < 20
    assert candidate.outcome == "no_fix"
    assert "timed out" in candidate.refusals[0]["reason"]
