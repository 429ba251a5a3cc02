"""bench/detect.py's attribution columns: regressions injected at known commits of a generated
repository, found by each detector, attributed by Wattson with and without bisect.

The repository (`app/core.py`, one `quote_<i>` function per case, plus `helper`) gets a base
commit, then one block of commits per case, in history order. Each block holds the culprit
(a loop in `quote_<i>` runs more often) at a random place among innocent commits: a refactor
of `quote_<i>` itself (renamed locals, a longer docstring: more changed lines in the function
than the culprit's one), edits of its neighbours `quote_<i-1>` / `quote_<i+1>` in the same
file, an edit of `helper` (a callee), and a README change. `bench.py` calls every function once
and prints `seconds:` computed from the loop iterations counted (deterministic, no timing), so
bisect is fast and exact; each culprit slows the whole benchmark by 10 %.

Case i's series is the CPU share of `app.core.quote_<i>` over 200 points, each point tagged
with the commit deployed then: the commit before block i, and from a random point on the
block's last commit, with a 4-sigma step there (noise, 1 % outliers). Each detector looks for
the change; its point is moved to the nearest deploy within 4 points, as the pipeline does
(attribution.change_bracket), and the commit deployed there is what a detector alone would
blame (its top-1). Wattson ranks the commits between the last good and first bad points
(reviews.detection.attribution) and bisects them with `bench.py` in scratch worktrees through
the sandbox (reviews.detection.bisect, as the worker does; `python3 bench.py`, one run).
Django settings must be configured before this module is imported (bench/detect.py does).
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from reviews.detection.attribution import change_bracket, commits_between, rank
from reviews.detection.bisect import bisect_commits
from reviews.detection.changepoints import DetectorConfig
from skills.solver.validation import ValidationError, measure_benchmark
from skills.worktrees import WorktreeError, scratch_worktree

LEVEL, SIGMA, STEP_SIGMAS, POINTS = 5.0, 0.1, 4.0, 200
BASE_LOOPS = 20

FUNCTION = '''def quote_{i}(x):
    """Price of item {i}{note}."""
    total = 0
    for step in range({loops}):
        TICKS[0] += 1
        total += helper(step) * x
    return total + {i}
'''
REFACTORED = '''def quote_{i}(x):
    """Price of item {i}{note}.

    Sums the helper's weight of every step, times the quantity.
    """
    price = 0
    for index in range({loops}):
        TICKS[0] += 1
        price += helper(index) * x
    return price + {i}
'''
HEADER = "TICKS = [0]\n\n\ndef helper(value):\n    return value % 7{tweak}\n"
BENCH = (
    "from app import core\n\n"
    "for name in sorted(dir(core)):\n"
    "    if name.startswith('quote_'):\n"
    "        getattr(core, name)(3)\n"
    "print(f'seconds: {core.TICKS[0] / 100000:.6f}')\n"
)


@dataclass
class Case:
    function: str
    culprit: str
    last_good: str  # the commit before the block (deployed before the step)
    first_bad: str  # the block's last commit (deployed from the step on)
    values: list[float]
    commits: list[str]  # per point
    step_at: int


class _Repository:
    """The generated repository and the state of `app/core.py` as functions and loop counts."""

    def __init__(self, root: Path, cases: int) -> None:
        self.root = root
        self.loops = [BASE_LOOPS] * cases
        self.refactored = [False] * cases
        self.notes = [0] * cases
        self.helper_tweaks = 0
        self.readme = 0

    def _git(self, *argv: str, author: str = "dev") -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": f"{author}@example.com",
            "GIT_COMMITTER_NAME": "ci",
            "GIT_COMMITTER_EMAIL": "ci@example.com",
        }
        done = subprocess.run(
            ["git", "-C", str(self.root), *argv],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        return done.stdout.strip()

    def _write(self) -> None:
        tweak = f" + {self.helper_tweaks} * 0" if self.helper_tweaks else ""
        parts = [HEADER.format(tweak=tweak)]
        for i, loops in enumerate(self.loops):
            shape = REFACTORED if self.refactored[i] else FUNCTION
            note = f" (revised {self.notes[i]} times)" if self.notes[i] else ""
            parts.append(shape.format(i=i, loops=loops, note=note))
        (self.root / "app" / "core.py").write_text("\n\n".join(parts))
        (self.root / "README.md").write_text(f"Pricing, revision {self.readme}.\n")

    def commit(self, message: str, author: str = "dev") -> str:
        self._write()
        self._git("add", "-A")
        self._git("commit", "-q", "-m", message, author=author)
        return self._git("rev-parse", "HEAD")

    def init(self) -> str:
        (self.root / "app").mkdir(parents=True)
        (self.root / "app" / "__init__.py").write_text("")
        (self.root / "bench.py").write_text(BENCH)
        self._git("init", "-q", "-b", "main")
        return self.commit("Base")

    def ticks(self) -> int:
        return sum(self.loops)


def _series(rng: random.Random, good: str, bad: str) -> tuple[list[float], list[str], int]:
    step_at = rng.randint(60, 150)
    values, commits = [], []
    for point in range(POINTS):
        value = LEVEL + rng.gauss(0, SIGMA)
        if rng.random() < 0.01:
            value += rng.choice((-1, 1)) * rng.uniform(5, 10) * SIGMA
        if point >= step_at:
            value += STEP_SIGMAS * SIGMA
        values.append(value)
        commits.append(bad if point >= step_at else good)
    return values, commits, step_at


def generate(root: Path, cases: int, seed: int) -> list[Case]:
    """The repository at `root` and one case per injected regression."""
    rng = random.Random(seed)
    repository = _Repository(root, cases)
    last = repository.init()
    generated = []
    for i in range(cases):
        innocent: list[tuple[str, Callable[[], None]]] = []
        if rng.random() < 0.6:
            innocent.append((f"Tidy quote_{i}", lambda i=i: _toggle(repository, i)))
        for neighbour in (i - 1, i + 1):
            if 0 <= neighbour < cases and rng.random() < 0.7:
                innocent.append(
                    (f"Touch up quote_{neighbour}", lambda n=neighbour: _note(repository, n))
                )
        if rng.random() < 0.5:
            innocent.append(("Helper: spell out the modulo", lambda: _tweak_helper(repository)))
        innocent += [("README", lambda: _readme(repository))] * rng.randint(1, 2)
        rng.shuffle(innocent)
        # The culprit adds 10 % to the whole benchmark, however many came before it.
        extra = max(1, -(-repository.ticks() // 10))
        culprit_at = rng.randint(0, len(innocent))
        good = last
        culprit = ""
        for position in range(len(innocent) + 1):
            if position == culprit_at:
                repository.loops[i] += extra
                culprit = last = repository.commit(f"quote_{i}: count every step", "culprit")
            if position < len(innocent):
                message, change = innocent[position]
                change()
                last = repository.commit(message)
        values, commits, step_at = _series(rng, good, last)
        generated.append(Case(f"app.core.quote_{i}", culprit, good, last, values, commits, step_at))
    return generated


def _toggle(repository: _Repository, i: int) -> None:
    # The function's own innocent refactor: the other shape, the same loop count.
    repository.refactored[i] = not repository.refactored[i]


def _note(repository: _Repository, i: int) -> None:
    repository.notes[i] += 1


def _tweak_helper(repository: _Repository) -> None:
    repository.helper_tweaks += 1


def _readme(repository: _Repository) -> None:
    repository.readme += 1


@dataclass
class AttributionFigures:
    cases: int
    detected: dict[str, int]  # per detector: cases whose step it found
    peer_top1: dict[str, int]  # per detector: the commit at its change point is the culprit
    top1: int = 0  # Wattson's attribution alone
    top3: int = 0
    bisect_top1: int = 0  # with bisect
    bisect_top3: int = 0
    bisect_steps: int = 0
    seconds: float = 0.0


def attribution_bench(
    detectors: dict[str, Callable[[list[float]], list[int]]],
    *,
    cases: int,
    seed: int,
    tolerance: int,
) -> AttributionFigures:
    """Generate the repository, detect each case with each detector, attribute and bisect."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wattson-bench-attribution-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        generated = generate(root, cases, seed)
        figures = AttributionFigures(
            cases=cases, detected=dict.fromkeys(detectors, 0), peer_top1=dict.fromkeys(detectors, 0)
        )

        def measure(commit: str) -> tuple[float | None, str]:
            try:
                with scratch_worktree(str(root), commit) as worktree:
                    return measure_benchmark("python3 bench.py", cwd=worktree, runs=1, timeout=30)
            except (ValidationError, WorktreeError) as exc:
                return None, str(exc)

        for case in generated:
            for name, detector in detectors.items():
                near = [i for i in detector(case.values) if abs(i - case.step_at) <= tolerance]
                if not near:
                    continue
                figures.detected[name] += 1
                index = change_bracket(case.commits, near[0], within=DetectorConfig.min_segment)
                figures.peer_top1[name] += case.commits[index] == case.culprit
                if name != "Wattson":
                    continue
                last_good, first_bad = case.commits[index - 1], case.commits[index]
                ranked = [
                    c.commit
                    for c in rank(
                        repository_path=str(root),
                        last_good_commit=last_good,
                        first_bad_commit=first_bad,
                        functions=[case.function],
                    )
                ]
                figures.top1 += ranked[:1] == [case.culprit]
                figures.top3 += case.culprit in ranked[:3]
                outcome = bisect_commits(
                    [last_good, *commits_between(str(root), last_good, first_bad)],
                    measure=measure,
                    min_slowdown=settings.WATTSON_MIN_SPEEDUP,
                    max_steps=settings.WATTSON_BISECT_MAX_STEPS,
                    deadline_s=60,
                )
                figures.bisect_steps += len(outcome.steps)
                named = [outcome.commit] if outcome.status == "found" else []
                with_bisect = named + [c for c in ranked if c not in named]
                figures.bisect_top1 += with_bisect[:1] == [case.culprit]
                figures.bisect_top3 += case.culprit in with_bisect[:3]
    figures.seconds = time.perf_counter() - started
    return figures
