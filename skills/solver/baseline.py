"""Baseline before blame: the repository's tests on the unpatched commit (issue #12 item 2).

A suite that already fails before any change must not make every patch look guilty. The tests
run once on the clean scratch worktree, and the ids of the tests that fail there are kept;
a patch then passes when it adds no failing id. Ids are read from unittest's `FAIL:`/`ERROR:`
lines and pytest's `FAILED`/`ERROR` summary lines (`-rf`/`-ra`); when they cannot be read the
exit status decides, and the validation says so. A baseline that cannot run at all (no
interpreter, nothing collected, every test module failing to import) is a no_fix reason of its
own, naming the command and its output.

Results are cached per (repository, commit, test command) in a small JSON file under the var
dir, so re-solves of the same commit do not pay for the suite again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

from skills.solver.validation import ValidationError, cap_log, run_command

# unittest: "FAIL: test_x (pkg.mod.Class.test_x)" (3.11) or "ERROR: test_x (pkg.mod.Class)".
_UNITTEST_RE = re.compile(r"^(?:FAIL|ERROR): (\S+) \(([^)\s]+)\)", re.M)
# pytest -rf / -ra: "FAILED tests/test_x.py::test_y - AssertionError" / "ERROR tests/..."
# (not unittest's own "FAILED (failures=1)" line).
_PYTEST_RE = re.compile(r"^(?:FAILED|ERROR) (?!\()(\S+)", re.M)
_UNITTEST_RAN_RE = re.compile(r"^Ran (\d+) tests? in ", re.M)
_PYTEST_SUMMARY_RE = re.compile(r"\b(\d+) (passed|failed|errors?)\b")
CACHE_VERSION = 1


@dataclass
class Baseline:
    """The tests on the unpatched commit."""

    command: str
    returncode: int | None
    failures: list[str] | None  # failing test ids; None when they could not be read
    runnable: bool
    log: str = ""
    passed_count: int | None = None  # tests that ran, when the runner said how many
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def why_not_runnable(self) -> str:
        tail = "\n".join(self.log.strip().splitlines()[-15:])
        return (
            f"the tests cannot run on the unchanged code, so no change can be judged: "
            f"`{self.command}` {self._status()}\n{tail}"
        )

    def _status(self) -> str:
        if self.returncode is None:
            return "timed out"
        if self.log.startswith("cannot start:"):
            return "cannot start"
        return f"exited {self.returncode}"


def failing_ids(output: str) -> list[str] | None:
    """Ids of the failing tests a unittest or pytest run printed; None when none could be read
    (a failing run that printed no id, or a runner whose format is unknown)."""
    ids: list[str] = []
    for name, where in _UNITTEST_RE.findall(output):
        ids.append(where if where.endswith(f".{name}") or where == name else f"{where}.{name}")
    ids += _PYTEST_RE.findall(output)
    return sorted(set(ids)) if ids else None


def ran_any(output: str) -> bool:
    """Whether the runner says it ran at least one test."""
    ran = [int(n) for n in _UNITTEST_RAN_RE.findall(output)]
    if ran:
        return max(ran) > 0
    return bool(_PYTEST_SUMMARY_RE.search(output))


def _only_load_failures(output: str, failures: list[str] | None) -> bool:
    """Every failure is a test module that could not be imported or collected, and nothing
    else ran: the suite did not run at all."""
    if not failures:
        return False
    loader = [f for f in failures if "_FailedTest" in f or ("::" not in f and f.endswith(".py"))]
    if len(loader) != len(failures):
        return False
    ran = [int(n) for n in _UNITTEST_RAN_RE.findall(output)]
    if ran:
        return max(ran) <= len(failures)
    return " passed" not in output


def judge(command: str, returncode: int | None, output: str) -> Baseline:
    """A Baseline from one run's exit status and output."""
    log = cap_log(output)
    if returncode == 0:
        return Baseline(command, 0, [], True, log)
    failures = failing_ids(output)
    cannot_start = returncode in (126, 127) or "No such file or directory" in output[:400]
    if returncode is None or cannot_start or not ran_any(output):
        return Baseline(command, returncode, failures, False, log)
    if _only_load_failures(output, failures):
        return Baseline(command, returncode, failures, False, log)
    baseline = Baseline(command, returncode, failures, True, log)
    if failures is None:
        baseline.notes.append(
            "the tests already fail on the unchanged code and the failing tests' ids could not "
            "be read: the exit status decides, so any failure counts against the change"
        )
    return baseline


def _cache_file(repo: str, commit: str, command: str) -> Path:
    key = json.dumps([str(Path(repo).resolve()), commit, command])
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Path(settings.VAR_DIR) / "baseline-cache" / f"{digest}.json"


def cached_baseline(repo: str, commit: str, command: str) -> Baseline | None:
    path = _cache_file(repo, commit, command)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.pop("version", None) != CACHE_VERSION or data.get("command") != command:
        return None
    try:
        return Baseline(**data)
    except TypeError:
        return None


def store_baseline(repo: str, commit: str, baseline: Baseline) -> None:
    path = _cache_file(repo, commit, baseline.command)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": CACHE_VERSION, **asdict(baseline)}))
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs a rerun next time


def run_baseline(
    worktree: str | Path, command: str, *, repo: str, commit: str, timeout: float
) -> tuple[Baseline, bool]:
    """(the baseline of `command` on the clean `worktree` at `commit`, whether it was cached)."""
    cached = cached_baseline(repo, commit, command)
    if cached is not None:
        return cached, True
    try:
        result = run_command(command, cwd=worktree, timeout=timeout)
    except ValidationError as exc:
        # The command cannot even start (no such interpreter, an unparsable command line).
        return Baseline(command, 127, None, False, f"cannot start: {exc}"), False
    baseline = judge(command, result.returncode, result.output)
    if result.returncode is not None:  # a timeout may pass on a quieter machine: not cached
        store_baseline(repo, commit, baseline)
    return baseline, False


def compare(baseline: Baseline | None, returncode: int | None, output: str) -> tuple[bool, str]:
    """(tests passed, note) for a run with the change, judged against the baseline.

    Passing means adding no failure: every failing id already failed before the change.
    """
    if returncode == 0:
        return True, ""
    if returncode is None:
        return False, ""
    if baseline is None or baseline.ok or not baseline.runnable:
        return False, ""
    after = failing_ids(output)
    if after is None or baseline.failures is None:
        return False, (
            "the tests already failed before the change, and the failing tests' ids could not "
            "be read on both sides: the exit status decides"
        )
    added = sorted(set(after) - set(baseline.failures))
    if added:
        return False, "failing only with the change: " + ", ".join(added[:10])
    return True, (
        f"{len(after)} test(s) fail with and without the change (they already failed on the "
        "unchanged code and do not count against it): " + ", ".join(after[:10])
    )
