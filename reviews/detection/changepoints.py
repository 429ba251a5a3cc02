"""Change-point detection on one series: plain numbers in, plain dataclasses out (no Django).

The method, stated so a reviewer can check a finding's figures:

1. Outliers are harmless by construction: every statistic below is on ranks or medians.
2. Seasonality guard: each point is compared with its own phase. The period is `period` when
   the series declares one, else the lag whose autocorrelation stands highest above that of
   half the lag (a cycle is positive at its period and negative at half of it, while a step
   raises both alike). A period is claimed only when that margin reaches `seasonal_min_score`
   AND the autocorrelation at the period is significant: above the one-sided normal quantile
   of `seasonal_alpha` / (lags tried) times its null deviation sqrt(n - lag) / n (Bartlett,
   Bonferroni over the lags searched), so plain noise, whose highest margin among dozens of
   lags often passes 0.35 on a short series, claims none. Then each phase's median is
   subtracted before testing. A big step can hide a cycle, so once steps are found the period
   is looked for again in what they leave (each point minus its segment's median).
3. Change points: binary segmentation with Pettitt's test (a CUSUM of Mann-Whitney ranks).
   Its p-value, p = 2 exp(-6 K^2 / (n^3 + n^2)), is that of the largest statistic over all
   split positions, so choosing the split is already paid for (no Bonferroni over splits is
   needed). A segment is split while p < `alpha` and both sides keep `min_segment` points,
   at the maximum-likelihood position of a mean shift (outliers clipped on each side).
4. A change in the worse direction is a regression when the relative shift of the segment
   medians is at least `min_effect` and it has not gone away: the latest segment still sits
   at least `persist_fraction` of the shift above the level before the change.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from statistics import NormalDist, fmean, median, pstdev


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's parameters; the defaults are those `manage.py detect` and the schedule use."""

    alpha: float = 0.001
    min_effect: float = 0.01  # relative shift of medians: 0.01 is 1 %
    min_segment: int = 4
    max_changes: int = 6
    period: int | None = None  # None: found from the data
    seasonal_min_score: float = 0.35
    seasonal_alpha: float = 0.01
    persist_fraction: float = 0.5

    def as_dict(self) -> dict[str, object]:
        return {
            "method": "binary segmentation, Pettitt rank test, per-phase seasonal medians",
            "alpha": self.alpha,
            "min_effect": self.min_effect,
            "min_segment": self.min_segment,
            "period": self.period,
            "seasonal_alpha": self.seasonal_alpha,
            "persist_fraction": self.persist_fraction,
        }


@dataclass(frozen=True)
class Change:
    """One regression in a series: the index of its first bad point and the test's figures."""

    index: int
    p_value: float
    baseline_mean: float
    baseline_stdev: float
    baseline_median: float
    current_mean: float
    current_median: float
    magnitude: float  # relative shift of medians, worse direction positive: 0.05 is 5 % worse
    period: int | None  # the seasonal period compared against, when one was found


def _ranks(values: list[float]) -> list[float]:
    """Ranks 1..n, ties sharing their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        start = end + 1
    return ranks


def pettitt(values: list[float], *, min_segment: int) -> tuple[int, float]:
    """The most likely split (index of the first point after it) and Pettitt's p-value."""
    n = len(values)
    if n < 2 * min_segment:
        return -1, 1.0
    ranks = _ranks(values)
    best_index, best = -1, -1.0
    running = 0.0
    # U_k = 2 * (sum of the first k ranks) - k (n + 1): zero on average without a change.
    for k in range(1, n - min_segment + 1):
        running += ranks[k - 1]
        if k < min_segment:
            continue
        statistic = abs(2 * running - k * (n + 1))
        if statistic > best:
            best, best_index = statistic, k
    p_value = min(1.0, 2 * math.exp(-6 * best * best / (n**3 + n**2)))
    return best_index, p_value


def _clipped(values: list[float]) -> list[float]:
    centre = median(values)
    spread = median(abs(v - centre) for v in values) or 1e-12
    low, high = centre - 5 * spread, centre + 5 * spread
    return [min(high, max(low, v)) - centre for v in values]


def seasonal_period(values: list[float], *, min_score: float, alpha: float = 0.01) -> int | None:
    """The series' period in points, or None when no cycle stands out (see the module doc)."""
    n = len(values)
    centred = _clipped(values)
    variance = sum(v * v for v in centred)
    if n < 12 or variance <= 0:
        return None
    max_lag = n // 3
    acf = [1.0] + [
        sum(map(operator.mul, centred[:-lag], centred[lag:])) / variance
        for lag in range(1, max_lag + 1)
    ]
    scores = {lag: acf[lag] - acf[lag // 2] for lag in range(4, max_lag + 1)}
    if not scores:
        return None
    top = max(scores.values())
    if top < min_score:
        return None
    # Multiples of the period score as high: take the shortest lag that nearly matches the
    # best, then the best score around it (its neighbours score nearly as high).
    first = min(lag for lag, score in scores.items() if score >= 0.8 * top)
    period = max(range(first, min(max_lag, first + first // 2) + 1), key=scores.__getitem__)
    # Under no cycle the autocorrelation at a lag is about normal, deviation sqrt(n - lag) / n;
    # the highest of len(scores) lags is what noise offers, hence the Bonferroni quantile.
    critical = NormalDist().inv_cdf(1 - alpha / len(scores)) * math.sqrt(n - period) / n
    return period if acf[period] > critical else None


def deseasonalized(values: list[float], period: int, residuals: list[float]) -> list[float]:
    """Each point minus its phase's median offset, the offsets read from `residuals`."""
    offsets = [median(residuals[phase::period]) for phase in range(period)]
    centre = median(offsets)
    return [v - (offsets[i % period] - centre) for i, v in enumerate(values)]


def _residuals(values: list[float], splits: list[tuple[int, float]]) -> list[float]:
    """Each point minus its segment's median: what is left once the steps are taken out."""
    bounds = [0, *(index for index, _ in splits), len(values)]
    residuals: list[float] = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        level = median(values[lo:hi])
        residuals += [v - level for v in values[lo:hi]]
    return residuals


def mean_shift_split(values: list[float], *, near: int, min_segment: int) -> int:
    """The maximum-likelihood split of one mean shift, outliers clipped first.

    Pettitt's ranks say whether there is a change but place it loosely (a rank does not know
    how far apart two points are); the likelihood ratio of a mean shift places it sharply.
    Each side of Pettitt's split is clipped at 3 robust deviations of its own median, so an
    outlier cannot pull the split while the step itself is left whole.
    """
    n = len(values)
    clipped: list[float] = []
    for side in (values[:near], values[near:]):
        centre = median(side)
        spread = 3 * 1.4826 * (median(abs(v - centre) for v in side) or 1e-12)
        clipped += [min(centre + spread, max(centre - spread, v)) for v in side]
    mean = fmean(clipped)
    best_index, best, running = near, -1.0, 0.0
    for k in range(1, n - min_segment + 1):
        running += clipped[k - 1] - mean
        if k < min_segment:
            continue
        statistic = running * running * n / (k * (n - k))
        if statistic > best:
            best, best_index = statistic, k
    return best_index


def _splits(values: list[float], config: DetectorConfig) -> list[tuple[int, float]]:
    """Binary segmentation: (index, p-value) of every significant split, in index order."""
    found: list[tuple[int, float]] = []
    pending = [(0, len(values))]
    while pending and len(found) < config.max_changes:
        lo, hi = pending.pop()
        segment = values[lo:hi]
        index, p_value = pettitt(segment, min_segment=config.min_segment)
        if index < 0 or p_value >= config.alpha:
            continue
        index = mean_shift_split(segment, near=index, min_segment=config.min_segment)
        found.append((lo + index, p_value))
        pending += [(lo, lo + index), (lo + index, hi)]
    return sorted(found)


def changes_find(
    values: list[float], *, config: DetectorConfig, higher_is_better: bool = False
) -> list[Change]:
    """The regressions in `values` (oldest first) that are large enough and still there."""
    if len(values) < 2 * config.min_segment:
        return []
    period = config.period
    if period is None:
        period = seasonal_period(
            values, min_score=config.seasonal_min_score, alpha=config.seasonal_alpha
        )
    tested = deseasonalized(values, period, _residuals(values, [])) if period else list(values)
    splits = _splits(tested, config)
    if config.period is None and splits:
        # A big step hides a cycle from the autocorrelation (it dominates the variance): look
        # again once the steps found are taken out, and test again against that cycle.
        residuals = _residuals(values, splits)
        found = seasonal_period(
            residuals, min_score=config.seasonal_min_score, alpha=config.seasonal_alpha
        )
        if found and found != period:
            period = found
            tested = deseasonalized(values, period, residuals)
            splits = _splits(tested, config)
    if not splits:
        return []
    bounds = [0, *(index for index, _ in splits), len(values)]
    segments = [tested[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    levels = [median(segment) for segment in segments]
    sign = -1.0 if higher_is_better else 1.0
    changes = []
    for number, (index, p_value) in enumerate(splits):
        before, after = levels[number], levels[number + 1]
        shift = sign * (after - before)
        if before == 0 or shift <= 0 or shift / abs(before) < config.min_effect:
            continue
        # Gone away: a later change brought the level back most of the way.
        if sign * (levels[-1] - before) < config.persist_fraction * shift:
            continue
        baseline, current = segments[number], segments[number + 1]
        changes.append(
            Change(
                index=index,
                p_value=p_value,
                baseline_mean=fmean(baseline),
                baseline_stdev=pstdev(baseline),
                baseline_median=before,
                current_mean=fmean(current),
                current_median=after,
                magnitude=shift / abs(before),
                period=period or None,
            )
        )
    return changes
