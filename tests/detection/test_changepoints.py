"""The detector on synthetic series: steps found where they are, nothing where there is none."""

from __future__ import annotations

from reviews.detection.changepoints import DetectorConfig, changes_find, seasonal_period
from tests.detection.helpers import series_values

CONFIG = DetectorConfig()


def test_a_step_is_found_at_the_point_it_starts():
    values = series_values(seed=1, step_at=70, step=4.0)
    [change] = changes_find(values, config=CONFIG)
    assert change.index == 70
    assert change.p_value < CONFIG.alpha
    assert 0.03 < change.magnitude < 0.05
    assert abs(change.baseline_mean - 100) < 0.5 and abs(change.current_mean - 104) < 0.5


def test_series_without_a_change_are_not_flagged():
    flagged = [seed for seed in range(200) if changes_find(series_values(seed=seed), config=CONFIG)]
    assert flagged == []


def test_outliers_alone_are_not_a_change():
    values = series_values(seed=3)
    for i in (20, 21, 60, 100, 101, 102):
        values[i] += 40
    assert changes_find(values, config=CONFIG) == []


def test_an_improvement_is_not_a_regression_unless_higher_is_better():
    values = series_values(seed=4, step_at=60, step=-5.0)
    assert changes_find(values, config=CONFIG) == []
    [change] = changes_find(values, config=CONFIG, higher_is_better=True)
    assert change.index == 60


def test_a_regression_that_went_away_is_not_reported():
    values = series_values(seed=5, step_at=40, step=5.0, back_at=80)
    assert changes_find(values, config=CONFIG) == []


def test_a_step_below_the_minimum_effect_is_not_reported():
    values = series_values(seed=6, step_at=60, step=0.8, noise=0.05)
    assert changes_find(values, config=DetectorConfig(min_effect=0.01)) == []
    [change] = changes_find(values, config=DetectorConfig(min_effect=0.005))
    assert change.index == 60


def test_seasonal_series_are_not_flagged_and_a_step_on_top_is_found():
    for seed in range(40):
        values = series_values(seed=seed, n=168, period=24, amplitude=6.0)
        assert changes_find(values, config=CONFIG) == [], seed
    values = series_values(seed=7, n=168, period=24, amplitude=6.0, step_at=100, step=4.0)
    [change] = changes_find(values, config=CONFIG)
    assert abs(change.index - 100) <= 2
    assert change.period == 24


def test_plain_noise_claims_no_seasonal_period():
    # Before the significance check a third of 50-point noise series "had" a period.
    claimed = [
        (n, seed)
        for n in (24, 50, 100, 200)
        for seed in range(100)
        if seasonal_period(series_values(seed=seed, n=n), min_score=CONFIG.seasonal_min_score)
    ]
    assert len(claimed) <= 2, claimed


def test_a_step_on_plain_noise_reports_no_period_and_a_real_cycle_is_still_found():
    for seed in range(30):
        values = series_values(seed=seed, n=80, step_at=50, step=5.0)
        assert [change.period for change in changes_find(values, config=CONFIG)] == [None], seed
    cycle = series_values(seed=3, n=168, period=24, amplitude=3.0)
    assert seasonal_period(cycle, min_score=CONFIG.seasonal_min_score) == 24
