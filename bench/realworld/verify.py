"""Independent checks of a corpus case: a fresh build, the tests against the parent's baseline,
and the benchmark of the parent, the upstream fix and a proposed diff, timed in the same rounds.

Nothing here trusts the solver's own validation: each tree is a new build from the case files,
every command runs through Wattson's sandbox runner (a proposal may hold code a model wrote),
and the timings alternate between the trees so machine noise hits every side alike.
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

COMMAND_TIMEOUT_S = 120.0
BENCH_ROUNDS = 3
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

    @property
    def best_s(self) -> float | None:
        return min(self.bench_s) if self.bench_s else None


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


def measure(name: str, trees: dict[str, Tree]) -> None:
    """Tests on every tree that applies, then BENCH_ROUNDS alternating benchmark rounds."""
    case = load_case(name)
    live = [t for t in trees.values() if t.applies]
    for tree in live:
        tree.tests = run_tests(case["test_cmd"], tree.path)
    for _ in range(BENCH_ROUNDS):
        for tree in live:
            seconds = time_bench(case["bench_cmd"], tree.path)
            if seconds is not None:
                tree.bench_s.append(seconds)


def speedup(trees: dict[str, Tree], label: str) -> float | None:
    before, after = trees["parent"].best_s, trees[label].best_s if label in trees else None
    return before / after if before and after else None


if __name__ == "__main__":
    sys.exit("verify.py is a library of run.py")
