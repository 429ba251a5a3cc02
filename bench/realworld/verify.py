"""Independent checks of a corpus case: a fresh build, the tests against the parent's baseline,
and the benchmark of the parent, the upstream fix and a proposed diff, timed in the same rounds.

Nothing here trusts the solver's own validation: each tree is a new build from the case files,
every command runs through Wattson's sandbox runner (a proposal may hold code a model wrote),
and the timings alternate between the trees so machine noise hits every side alike.

"Faster" is the solver's own statistical verdict (skills.solver.speedup: a one-sided
Mann–Whitney U test of "at least WATTSON_MIN_SPEEDUP faster"), not a ratio of two best-ofs: a
fix measured at 1.06x in a quiet run was called wrong at 1.02x by three best-of rounds on a busy
machine. Rounds go on while the proposal's verdict is undecided, up to MAX_ROUNDS, with the
significance level split over the looks; what is still undecided then is reported as such.
Needs Django set up (the sandbox reads WATTSON_SANDBOX from the settings).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from build import apply_reference, build, load_case

from skills import sandbox
from skills.solver import speedup as stats

COMMAND_TIMEOUT_S = 120.0
# The fewest interleaved rounds whose Mann–Whitney test can reach the level of a look (alpha
# split over the looks at 5..12 rounds: 1/252 <= 0.05/8), and the most taken while the
# proposal's verdict is undecided.
FIRST_ROUNDS = 5
MAX_ROUNDS = 12
_FAILED_TEST = re.compile(r"^(?:FAIL|ERROR): (.+)$", re.M)
_RAN = re.compile(r"^Ran (\d+) tests?", re.M)
_SECONDS = re.compile(r"^seconds: ([0-9.eE+-]+)\s*$", re.M)


@dataclass
class TestResult:
    ran: int | None  # None: the command did not get as far as running tests
    failing: frozenset[str]
    returncode: int
    output: str

    def adds_no_failure_to(self, baseline: TestResult) -> bool:
        """True when this tree runs the suite and fails nothing the baseline passed."""
        if self.ran is None or (baseline.ran is not None and self.ran < baseline.ran):
            return False
        if self.returncode == 0:
            return True
        return bool(self.failing) and self.failing <= baseline.failing


@dataclass
class Tree:
    label: str
    path: Path
    applies: bool = True
    apply_log: str = ""
    tests: TestResult | None = None
    bench_s: list[float] = field(default_factory=list)


def _run(command: str, cwd: Path) -> tuple[int, str]:
    result = sandbox.run(
        shlex.split(command),
        cwd=cwd,
        env={"HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=COMMAND_TIMEOUT_S,
        policy=sandbox.sandbox_policy(),
    )
    return result.returncode, result.output


def run_tests(command: str, cwd: Path) -> TestResult:
    code, output = _run(command, cwd)
    ran = _RAN.search(output)
    return TestResult(
        ran=int(ran.group(1)) if ran else None,
        failing=frozenset(_FAILED_TEST.findall(output)),
        returncode=code,
        output=output[-4000:],
    )


def time_bench(command: str, cwd: Path) -> float | None:
    code, output = _run(command, cwd)
    found = _SECONDS.findall(output)
    return float(found[-1]) if code == 0 and found else None


def prepare(name: str, workdir: Path, diff: str | None = None) -> dict[str, Tree]:
    """Fresh builds of the parent, the upstream fix and (when given) the proposed diff."""
    trees = {"parent": Tree("parent", workdir / "parent")}
    build(name, trees["parent"].path)
    trees["upstream"] = Tree("upstream", workdir / "upstream")
    build(name, trees["upstream"].path)
    apply_reference(name, trees["upstream"].path)
    if diff is not None:
        tree = trees["wattson"] = Tree("wattson", workdir / "wattson")
        build(name, tree.path)
        patch = workdir / "wattson.diff"
        patch.write_text(diff)
        applied = subprocess.run(
            ["git", "-C", str(tree.path), "apply", "--whitespace=nowarn", str(patch)],
            capture_output=True,
            text=True,
        )
        tree.applies = applied.returncode == 0
        tree.apply_log = applied.stderr.strip()
    return trees


def measure(name: str, trees: dict[str, Tree], *, min_speedup: float, alpha: float) -> int:
    """Tests on every tree that applies, then interleaved benchmark rounds (the order rotating
    each round): FIRST_ROUNDS, and more while the proposal's verdict is undecided. The rounds."""
    case = load_case(name)
    live = [t for t in trees.values() if t.applies]
    for tree in live:
        tree.tests = run_tests(case["test_cmd"], tree.path)
    rounds = 0
    while rounds < MAX_ROUNDS:
        shift = rounds % len(live) if live else 0
        for tree in live[shift:] + live[:shift]:
            seconds = time_bench(case["bench_cmd"], tree.path)
            if seconds is not None:
                tree.bench_s.append(seconds)
        rounds += 1
        if rounds < FIRST_ROUNDS:
            continue
        verdict = judgement(trees, "wattson", min_speedup=min_speedup, alpha=alpha)
        if verdict is None or verdict.verdict != stats.UNDECIDED:
            break
    return rounds


def judgement(
    trees: dict[str, Tree], label: str, *, min_speedup: float, alpha: float
) -> stats.Judgement | None:
    """The statistical verdict on `label` against the parent; None without samples of both."""
    tree = trees.get(label)
    before, after = trees["parent"].bench_s, tree.bench_s if tree else []
    if not before or not after:
        return None
    level = stats.look_alpha(alpha, FIRST_ROUNDS, MAX_ROUNDS)
    return stats.judge(before, after, min_speedup=min_speedup, alpha=alpha, level=level)


if __name__ == "__main__":
    sys.exit("verify.py is a library of run.py")
