"""Bisect a regression over a range of commits with a benchmark: plain data, no Django.

The caller hands the commits from the last good one to the first bad one (oldest first) and a
`measure(commit) -> (seconds | None, log)`; the engine measures both ends, then halves the range,
calling a commit bad when its time is closer to the bad end's than to the good end's (the
midpoint of the two), until two neighbours remain: the newer one is the commit that made it
slower. It is bounded by `max_steps` measurements and a deadline, and every step is kept as the
log a reviewer reads. A benchmark that does not show the regression, or fails, ends it with the
reason instead of a guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Measure = Callable[[str], tuple[float | None, str]]


@dataclass(frozen=True)
class BisectStep:
    commit: str
    seconds: float | None
    verdict: str  # good | bad | failed
    log: str = ""


@dataclass
class BisectOutcome:
    status: str  # found | inconclusive | failed
    reason: str = ""
    commit: str = ""  # the first bad commit, when found
    before_s: float | None = None  # measured at its parent
    after_s: float | None = None  # measured at it
    steps: list[BisectStep] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "commit": self.commit,
            "before_s": self.before_s,
            "after_s": self.after_s,
            "steps": [
                {"commit": s.commit, "seconds": s.seconds, "verdict": s.verdict, "log": s.log}
                for s in self.steps
            ],
        }


def bisect_commits(
    commits: list[str],
    *,
    measure: Measure,
    min_slowdown: float,
    max_steps: int,
    deadline_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> BisectOutcome:
    """Find the first bad commit in `commits` (commits[0] good, commits[-1] bad)."""
    outcome = BisectOutcome(status="inconclusive")
    if len(commits) < 2:
        return BisectOutcome(status="inconclusive", reason="fewer than two commits to compare")
    stop_at = clock() + deadline_s
    measured: dict[int, float] = {}

    def step(index: int, verdict_of: Callable[[float], str]) -> float | None:
        seconds, log = measure(commits[index])
        if seconds is None:
            outcome.steps.append(BisectStep(commits[index], None, "failed", log))
            return None
        outcome.steps.append(BisectStep(commits[index], seconds, verdict_of(seconds), log))
        measured[index] = seconds
        return seconds

    good = step(0, lambda _s: "good")
    bad = step(len(commits) - 1, lambda _s: "bad") if good is not None else None
    if good is None or bad is None:
        outcome.status = "failed"
        outcome.reason = f"the benchmark failed at {outcome.steps[-1].commit[:12]}"
        return outcome
    if bad < good * min_slowdown:
        outcome.reason = (
            f"the benchmark does not show the regression: {bad:.6f}s at the first bad commit "
            f"against {good:.6f}s at the last good one (needs {min_slowdown:g}x slower)"
        )
        return outcome
    threshold = (good + bad) / 2
    low, high = 0, len(commits) - 1
    while high - low > 1:
        if len(outcome.steps) >= max_steps:
            outcome.reason = f"stopped after {max_steps} measurements between {low} and {high}"
            return _narrowed(outcome, commits, low, high)
        if clock() > stop_at:
            outcome.reason = f"stopped at its {deadline_s:g}s deadline"
            return _narrowed(outcome, commits, low, high)
        middle = (low + high) // 2
        seconds = step(middle, lambda s: "bad" if s >= threshold else "good")
        if seconds is None:
            outcome.status = "failed"
            outcome.reason = f"the benchmark failed at {commits[middle][:12]}"
            return _narrowed(outcome, commits, low, high)
        if seconds >= threshold:
            high = middle
        else:
            low = middle
    outcome.status = "found"
    outcome.commit = commits[high]
    outcome.before_s = measured[low]
    outcome.after_s = measured[high]
    outcome.reason = (
        f"{commits[high][:12]} is the first commit whose benchmark is slow: "
        f"{measured[low]:.6f}s before it, {measured[high]:.6f}s at it"
    )
    return outcome


def _narrowed(outcome: BisectOutcome, commits: list[str], low: int, high: int) -> BisectOutcome:
    remaining = ", ".join(c[:12] for c in commits[low + 1 : high + 1])
    outcome.reason += f"; the cause is one of: {remaining}"
    return outcome
