"""The "faster" verdict is a one-sided test at a stated level, not a bare ratio (issue #12).

Fixed samples are fed to the judging function, so these tests are deterministic.
"""

from __future__ import annotations

import itertools
import math

import pytest

from skills.solver.pipeline import verdict
from skills.solver.speedup import (
    FASTER,
    NOT_FASTER,
    UNDECIDED,
    describe,
    judge,
    look_alpha,
    min_p,
    p_greater,
)
from skills.solver.types import Validation

# The corpus's no-gain patch: medians 1.05× apart, but the samples overlap heavily (the
# re-check measured 0.995×). A bare ratio passed it.
NOISY_BEFORE = [0.1050, 0.0990, 0.1120, 0.1010, 0.1080, 0.0970]
NOISY_AFTER = [0.1000, 0.1040, 0.0960, 0.1070, 0.0990, 0.1010]


def test_the_no_gain_patch_a_bare_ratio_passed_is_not_shown_faster():
    judged = judge(NOISY_BEFORE, NOISY_AFTER, min_speedup=1.05, alpha=0.05)
    assert judged.speedup == pytest.approx(1.0, abs=0.06)
    assert judged.verdict != FASTER and judged.p_value > 0.05


def test_a_clear_gain_is_faster_with_its_p_value():
    judged = judge([0.30, 0.31, 0.29, 0.30], [0.10, 0.11, 0.10, 0.12], min_speedup=1.05, alpha=0.05)
    assert judged.verdict == FASTER
    assert judged.p_value == pytest.approx(1 / math.comb(8, 4))


def test_a_gain_below_the_minimum_effect_is_not_faster():
    # Every "before" run is slower, but only by 2 %: the hypothesis is "at least 1.05× faster".
    before = [1.02, 1.021, 1.022, 1.023, 1.024]
    after = [1.0, 1.001, 1.002, 1.003, 1.004]
    assert judge(before, after, min_speedup=1.0, alpha=0.05).verdict == FASTER
    assert judge(before, after, min_speedup=1.05, alpha=0.05).verdict == NOT_FASTER


def test_too_few_pairs_to_reach_the_level_is_undecided():
    # Two pairs cannot give p below 1/6 whatever they measure.
    assert judge([0.3, 0.3], [0.1, 0.1], min_speedup=1.05, alpha=0.05).verdict == UNDECIDED


def test_exact_p_value_matches_enumeration():
    before, after = [0.5, 0.2, 0.4], [0.1, 0.3, 0.25]
    observed = sum(b > a for b in before for a in after)
    pooled = before + after
    splits = list(itertools.combinations(range(6), 3))
    at_least = sum(
        sum(pooled[i] > pooled[j] for i in split for j in range(6) if j not in split) >= observed
        for split in splits
    )
    assert p_greater(before, after) == pytest.approx(at_least / len(splits))


def test_looks_share_the_stated_level():
    # From 3 to 6 pairs: 3 cannot reach 0.05/3, 4 to 6 can, so each is tested at 0.05/3.
    assert look_alpha(0.05, 3, 6) == pytest.approx(0.05 / 3)
    level = look_alpha(0.05, 1, 8)
    live = [n for n in range(1, 9) if min_p(n) <= level]
    assert level * len(live) <= 0.05 + 1e-12


def test_the_solver_refuses_what_the_test_does_not_call_faster():
    judged = judge(NOISY_BEFORE, NOISY_AFTER, min_speedup=1.05, alpha=0.05).as_dict()
    validation = Validation(
        applies=True,
        tests_passed=True,
        bench_before_s=0.105,
        bench_after_s=0.100,
        bench_judgement=judged,
    )
    refusal = verdict(validation, 1.05)
    assert refusal.startswith("no significant gain") and "p = " in refusal
    faster = judge([0.3] * 5, [0.1] * 5, min_speedup=1.05, alpha=0.05).as_dict()
    validation.bench_judgement = faster
    assert verdict(validation, 1.05) == ""
    assert "faster by at least 1.05×" in describe(faster) and "5 interleaved pairs" in describe(
        faster
    )
