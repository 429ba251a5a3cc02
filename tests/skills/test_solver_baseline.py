"""Baseline before blame (issue #12 item 2): a suite that is red before any change.

The repository is tests/scenarios/_baseline_failing (its `TitleTest.test_apostrophe` fails on
the unchanged code); the solver must still propose a fix that adds no failure, list the test
that already failed, refuse a change that breaks a passing test, and end in a clear no_fix
when the tests cannot run at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from skills import codemods
from skills.codemods import CodemodInput, CodemodResult
from skills.solver.baseline import compare, failing_ids, judge
from skills.solver.offline import solve
from tests.skills.test_solver_reach import context, make_repo, seeded

FIXTURE = Path(__file__).resolve().parents[1] / "scenarios" / "_baseline_failing"
ALREADY_FAILING = "tests.test_parse.TitleTest.test_apostrophe"


@pytest.fixture
def red_repo(settings, tmp_path) -> Path:
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.VAR_DIR = tmp_path / "var"
    files = {
        str(path.relative_to(FIXTURE)): path.read_text()
        for path in FIXTURE.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    return make_repo(tmp_path / "repo", files)


def break_words(data: CodemodInput) -> CodemodResult:
    """A 'fix' that breaks the test that passed before."""
    new = data.source.replace("line.lower()", "line", 1)
    return CodemodResult(new, "skips lower-casing", 8, 8)


def test_a_test_failing_before_the_change_does_not_count_against_a_fix(red_repo):
    candidate = solve(context(red_repo, "pkg.parse.words", seeded("precompile-regex")))

    assert candidate.outcome == "proposal", candidate.refusals
    assert candidate.validation.tests_passed is True
    assert candidate.validation.baseline_failures == [ALREADY_FAILING]
    assert f"`{ALREADY_FAILING}`" in candidate.rationale
    assert "already fail on the unchanged code" in candidate.rationale
    assert ALREADY_FAILING in candidate.validation.test_log
    steps = {r.tool: r for r in candidate.trace}
    assert "already failing before any change" in steps["baseline_tests"].summary


def test_a_change_that_breaks_a_passing_test_is_still_refused(red_repo, monkeypatch):
    monkeypatch.setitem(codemods.REGISTRY, "break-words", break_words)
    spec = seeded("precompile-regex")[0]
    breaker = type(spec)(**{**spec.__dict__, "slug": "breaker", "codemod": "break-words"})
    candidate = solve(context(red_repo, "pkg.parse.words", (breaker,)))

    assert candidate.outcome == "no_fix"
    reason = candidate.refusals[0]["reason"]
    assert "the tests fail with the change" in reason
    assert "failing only with the change: tests.test_parse.WordsTest.test_words" in reason


def test_the_baseline_is_cached_per_commit_and_command(red_repo):
    ctx = context(red_repo, "pkg.parse.words", seeded("precompile-regex"))
    solve(ctx)
    again = solve(ctx)
    step = next(r for r in again.trace if r.tool == "baseline_tests")
    assert "cached for this commit and command" in step.summary
    assert again.validation.baseline_failures == [ALREADY_FAILING]


def test_tests_that_cannot_run_at_all_are_a_clear_no_fix(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.VAR_DIR = tmp_path / "var"
    files = {
        str(path.relative_to(FIXTURE)): path.read_text()
        for path in FIXTURE.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    files["tests/test_parse.py"] = "import not_installed_anywhere\n" + files["tests/test_parse.py"]
    repo = make_repo(tmp_path / "repo", files)
    candidate = solve(context(repo, "pkg.parse.words", seeded("precompile-regex")))

    assert candidate.outcome == "no_fix"
    assert candidate.no_fix_reason.startswith("the tests cannot run on the unchanged code")
    assert "`python3 -m unittest -q` exited 1" in candidate.no_fix_reason
    assert "not_installed_anywhere" in candidate.no_fix_reason


def test_a_missing_interpreter_is_a_baseline_that_cannot_run(red_repo):
    ctx = context(
        red_repo, "pkg.parse.words", seeded("precompile-regex"), test_cmd="python9 -m pytest"
    )
    candidate = solve(ctx)
    assert candidate.outcome == "no_fix"
    assert "`python9 -m pytest`" in candidate.no_fix_reason


# --- reading failing test ids ------------------------------------------------------------------


def test_failing_ids_read_unittest_and_pytest_output():
    unittest_out = (
        "FAIL: test_x (pkg.tests.T.test_x)\nERROR: test_y (pkg.tests.T)\n"
        "Ran 3 tests in 0.01s\nFAILED (failures=1, errors=1)\n"
    )
    assert failing_ids(unittest_out) == ["pkg.tests.T.test_x", "pkg.tests.T.test_y"]
    pytest_out = (
        "FAILED tests/test_a.py::test_one - AssertionError\n"
        "ERROR tests/test_b.py::test_two\n1 failed, 1 error, 4 passed in 0.2s\n"
    )
    assert failing_ids(pytest_out) == ["tests/test_a.py::test_one", "tests/test_b.py::test_two"]
    assert failing_ids("something went wrong\n") is None


def test_unreadable_ids_fall_back_to_the_exit_status_with_a_note():
    baseline = judge("make check", 2, "Ran 4 tests in 0.1s\nsomething failed\n")
    assert baseline.runnable and baseline.failures is None
    passed, note = compare(baseline, 2, "Ran 4 tests in 0.1s\nsomething failed\n")
    assert passed is False and "exit status decides" in note


def test_with_a_green_baseline_any_failure_counts():
    baseline = judge("python3 -m unittest", 0, "Ran 2 tests\nOK\n")
    assert compare(baseline, 1, "FAIL: test_x (m.T.test_x)\nRan 2 tests in 0s\n") == (False, "")


@pytest.fixture(autouse=True)
def _no_stray_files():
    yield
    for cache in FIXTURE.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
