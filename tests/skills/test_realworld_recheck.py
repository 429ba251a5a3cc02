"""bench/realworld's re-check: "faster" is the solver's statistical verdict, not a bare ratio.

Three best-of rounds called a fix measured at 1.06x in a quiet run "wrong" at 1.02x on a busy
machine. The re-check now takes interleaved rounds, judges them with the same one-sided
Mann–Whitney test of "at least WATTSON_MIN_SPEEDUP faster", takes more rounds while undecided,
and keeps what is still undecided apart from both valid and wrong fixes. Timings are scripted
here (the benchmark command is replaced), so the verdicts are exact.
"""

from __future__ import annotations

import importlib
import itertools

import pytest

MIN_SPEEDUP = 1.05
ALPHA = 0.05


@pytest.fixture
def verify(realworld):
    return importlib.import_module("verify")


def _trees(verify, tmp_path, labels=("parent", "upstream", "wattson")):
    trees = {}
    for label in labels:
        path = tmp_path / label
        path.mkdir()
        trees[label] = verify.Tree(label, path)
    return trees


def _script(verify, monkeypatch, timings: dict[str, list[float]]) -> dict[str, int]:
    """time_bench returns the next scripted timing of the tree it is asked about."""
    streams = {label: itertools.cycle(values) for label, values in timings.items()}
    calls = {label: 0 for label in timings}

    def time_bench(command, cwd):
        calls[cwd.name] += 1
        return next(streams[cwd.name])

    def run_tests(command, cwd):
        return verify.TestResult(ran=10, failing=frozenset(), returncode=0, output="OK")

    monkeypatch.setattr(verify, "time_bench", time_bench)
    monkeypatch.setattr(verify, "run_tests", run_tests)
    monkeypatch.setattr(verify, "load_case", lambda name: {"test_cmd": "t", "bench_cmd": "b"})
    return calls


def _classify(realworld, verify, trees, rounds):
    verdict = verify.judgement(trees, "wattson", min_speedup=MIN_SPEEDUP, alpha=ALPHA)
    return realworld._judge(trees["wattson"], trees["parent"].tests, verdict), verdict


def test_a_clear_gain_is_valid_after_the_first_rounds(realworld, verify, tmp_path, monkeypatch):
    trees = _trees(verify, tmp_path)
    calls = _script(
        verify,
        monkeypatch,
        {"parent": [1.00, 1.01, 0.99], "upstream": [0.50, 0.51], "wattson": [0.40, 0.41]},
    )
    rounds = verify.measure("case", trees, min_speedup=MIN_SPEEDUP, alpha=ALPHA)
    (outcome, reason), verdict = _classify(realworld, verify, trees, rounds)
    assert rounds == verify.FIRST_ROUNDS
    assert calls == {"parent": rounds, "upstream": rounds, "wattson": rounds}
    assert outcome == "valid", reason
    assert verdict.speedup == pytest.approx(1.0 / 0.405, rel=0.02)


def test_a_gain_below_the_floor_is_wrong_not_valid(realworld, verify, tmp_path, monkeypatch):
    # 2 % faster, every time: a bare "faster" would pass it; the floor is 5 %.
    trees = _trees(verify, tmp_path)
    _script(
        verify,
        monkeypatch,
        {"parent": [1.000, 1.002, 1.001], "upstream": [0.9], "wattson": [0.980, 0.981, 0.982]},
    )
    rounds = verify.measure("case", trees, min_speedup=MIN_SPEEDUP, alpha=ALPHA)
    (outcome, reason), _ = _classify(realworld, verify, trees, rounds)
    assert rounds == verify.FIRST_ROUNDS  # decided at the first look
    assert outcome == "wrong"
    assert "not faster by 1.05" in reason


def test_a_gain_within_the_noise_of_the_floor_stays_unconfirmed(
    realworld, verify, tmp_path, monkeypatch
):
    # Parent and patch overlap around the 5 % line: neither verdict can be reached.
    trees = _trees(verify, tmp_path)
    calls = _script(
        verify,
        monkeypatch,
        {
            "parent": [1.00, 1.10, 0.95, 1.06, 1.02],
            "upstream": [0.9],
            "wattson": [0.97, 0.93, 1.02, 0.96, 0.99],
        },
    )
    rounds = verify.measure("case", trees, min_speedup=MIN_SPEEDUP, alpha=ALPHA)
    (outcome, reason), verdict = _classify(realworld, verify, trees, rounds)
    assert rounds == verify.MAX_ROUNDS
    assert calls["wattson"] == verify.MAX_ROUNDS
    assert verdict.verdict == "undecided"
    assert outcome == "unconfirmed", reason


def test_a_case_without_a_proposal_times_only_the_first_rounds(verify, tmp_path, monkeypatch):
    trees = _trees(verify, tmp_path, labels=("parent", "upstream"))
    calls = _script(verify, monkeypatch, {"parent": [1.0, 1.1], "upstream": [0.5, 0.6]})
    rounds = verify.measure("case", trees, min_speedup=MIN_SPEEDUP, alpha=ALPHA)
    assert rounds == verify.FIRST_ROUNDS
    assert calls == {"parent": rounds, "upstream": rounds}
    upstream = verify.judgement(trees, "upstream", min_speedup=MIN_SPEEDUP, alpha=ALPHA)
    assert upstream.verdict == "faster"


def test_failing_tests_and_a_broken_benchmark_are_wrong(realworld, verify, tmp_path):
    trees = _trees(verify, tmp_path)
    baseline = verify.TestResult(ran=10, failing=frozenset({"t1"}), returncode=1, output="")
    trees["parent"].tests = baseline
    trees["wattson"].tests = verify.TestResult(
        ran=10, failing=frozenset({"t1", "t2"}), returncode=1, output=""
    )
    outcome, reason = realworld._judge(trees["wattson"], baseline, None)
    assert outcome == "wrong" and "t2" in reason
    trees["wattson"].tests = verify.TestResult(
        ran=10, failing=frozenset({"t1"}), returncode=1, output=""
    )
    outcome, reason = realworld._judge(trees["wattson"], baseline, None)
    assert (outcome, reason) == ("wrong", "the benchmark does not run with the diff")
