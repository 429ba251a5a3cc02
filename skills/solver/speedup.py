"""Is a change faster? A statistical verdict on interleaved before/after benchmark samples.

A bare ratio of medians let a no-gain patch through at a measured 1.05× that a later re-check
found to be 0.995× (issue #12): three samples a side cannot tell 5 % from noise. The verdict is
a one-sided Mann–Whitney U test of "before is slower than `min_speedup` × after", so the minimum
effect is part of the hypothesis, not a threshold on a noisy point estimate:

- faster: the test rejects "no faster than min_speedup" at the per-look level;
- not faster: the reverse test rejects "at least min_speedup faster" (stop sampling early);
- undecided: neither yet; the caller takes another pair, up to its bound, and then refuses.

Looking after every pair inflates the false-positive rate, so the stated significance level
`alpha` is split (Bonferroni) over the looks that could reject at all (`look_alpha`). The U
distribution is computed exactly (no normal approximation at these sizes); ties count half, and
the p-value then uses the next integer down, which errs towards "not shown faster". Pure
functions of the samples: tests feed fixed numbers.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

FASTER = "faster"
NOT_FASTER = "not faster"
UNDECIDED = "undecided"
TEST_NAME = "one-sided Mann–Whitney U"


@functools.cache
def _u_counts(n: int, m: int) -> tuple[int, ...]:
    """Arrangements of n before-samples among m after-samples giving each U = 0 .. n*m."""
    if n == 0 or m == 0:
        return (1,)
    # The largest element is a before-sample (it beats all m after-samples) or an after-sample.
    with_before = _u_counts(n - 1, m)
    with_after = _u_counts(n, m - 1)
    counts = [0] * (n * m + 1)
    for u, count in enumerate(with_before):
        counts[u + m] += count
    for u, count in enumerate(with_after):
        counts[u] += count
    return tuple(counts)


def u_statistic(greater: Sequence[float], smaller: Sequence[float]) -> float:
    """Pairs (g, s) with g > s, ties counting half."""
    return sum(1.0 if g > s else 0.5 if g == s else 0.0 for g in greater for s in smaller)


def p_greater(greater: Sequence[float], smaller: Sequence[float]) -> float:
    """Exact one-sided p-value of the Mann–Whitney U test that `greater` tends to be larger."""
    n, m = len(greater), len(smaller)
    if n == 0 or m == 0:
        return 1.0
    observed = math.floor(u_statistic(greater, smaller))
    counts = _u_counts(n, m)
    return sum(counts[observed:]) / math.comb(n + m, n)


def min_p(pairs: int) -> float:
    """The smallest p-value `pairs` samples a side can give (every before above every after)."""
    return 1.0 / math.comb(2 * pairs, pairs)


def look_alpha(alpha: float, first: int, last: int) -> float:
    """The level each look (after `first`, ..., `last` pairs) is tested at so that, over all of
    them, "faster" is wrongly declared with probability at most `alpha` (Bonferroni).

    Looks too small to ever reject do not count: with k looks that can reach alpha / k, each is
    tested at alpha / k, for the least such k.
    """
    looks = range(max(first, 1), max(first, last) + 1)
    for k in range(1, len(looks) + 1):
        level = alpha / k
        if sum(min_p(n) <= level for n in looks) <= k:
            return level
    return alpha / max(len(looks), 1)


@dataclass(frozen=True)
class Judgement:
    verdict: str  # FASTER, NOT_FASTER or UNDECIDED
    p_value: float  # of "no faster than min_speedup"
    speedup: float | None  # median before / median after
    pairs: int
    alpha: float  # the stated level, over all looks
    level: float  # the level this look was tested at
    min_speedup: float

    def as_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "p_value": round(self.p_value, 6),
            "speedup": round(self.speedup, 4) if self.speedup else None,
            "pairs": self.pairs,
            "alpha": self.alpha,
            "level": round(self.level, 6),
            "min_speedup": self.min_speedup,
            "test": TEST_NAME,
        }


def judge(
    before: Sequence[float],
    after: Sequence[float],
    *,
    min_speedup: float,
    alpha: float,
    level: float | None = None,
) -> Judgement:
    """The verdict on paired samples at this look (`level`, default `alpha`)."""
    level = alpha if level is None else level
    scaled = [value * min_speedup for value in after]
    p_value = p_greater(before, scaled)
    p_reverse = p_greater(scaled, before)
    speedup = (
        statistics.median(before) / max(statistics.median(after), 1e-12)
        if before and after
        else None
    )
    if p_value <= level:
        verdict = FASTER
    elif p_reverse <= level:
        verdict = NOT_FASTER
    else:
        verdict = UNDECIDED
    return Judgement(
        verdict=verdict,
        p_value=p_value,
        speedup=speedup,
        pairs=min(len(before), len(after)),
        alpha=alpha,
        level=level,
        min_speedup=min_speedup,
    )


def describe(judgement: dict | None) -> str:
    """One sentence for the trace, a refusal and the proposal page; "" without a judgement."""
    if not judgement:
        return ""
    speedup = judgement.get("speedup")
    measured = f"{speedup:.3f}× (median ratio)" if speedup else "no ratio"
    verdict = judgement.get("verdict", "")
    if verdict == FASTER:
        head = f"faster by at least {judgement.get('min_speedup')}×"
    elif verdict == NOT_FASTER:
        head = f"not faster by {judgement.get('min_speedup')}×"
    else:
        head = f"not shown faster by {judgement.get('min_speedup')}× (undecided)"
    return (
        f"{head}: {measured}, p = {judgement.get('p_value', 1.0):.4f} "
        f"({judgement.get('test', TEST_NAME)}, {judgement.get('pairs')} interleaved pairs, "
        f"α = {judgement.get('alpha')} over all looks, {judgement.get('level', 0):.4f} this look)"
    )
