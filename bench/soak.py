"""Faults, survived: findings solved by 3 qcluster workers on PostgreSQL while a random worker is
SIGKILLed every --kill-every seconds and every database connection is cut once
(pg_terminate_backend), once with the Redis broker and once with the ORM broker.

    .venv/bin/python bench/soak.py [--findings 2000] [--kill-every 20] [--brokers redis,orm]
        [--server-url postgresql://postgres@127.0.0.1:5432] [--limit-s 2400]

The solver path is real (auto-solve on ingest, claim, codemod, scratch worktree, tests, benchmark,
proposal) but kept fast: a generated repository of tiny modules whose inline `re.match` calls the
precompile-regex skill fixes, a test command that only imports the package, and a benchmark that
reports a constant time before the fix and half of it after (it measures the queue, not the code).
Prints and asserts: zero lost findings (every finding's run terminal), zero duplicate proposals,
every run terminal within --limit-s, and what each kill cost: the seconds from the kill until the
runs the killed worker held were terminal again (its deadline, 12 + 5 s here, then the next
free worker: a recovered run goes ahead of the backlog), and the same for the runs the other
workers had in flight when the connections were cut (they reconnect and finish). Needs
PostgreSQL (and Redis) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import django

PROJECT = Path(__file__).resolve().parents[1]
# bench/queue.py would shadow the stdlib's queue module for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT / "bench"]
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
import psycopg  # noqa: E402 (after the path fix: it imports queue)

django.setup()  # tests.deployment builds repositories with the demo builder (Django models)

from tests.deployment import TERMINAL, Deployment, scratch_postgres, scratch_redis  # noqa: E402

FUNCTIONS_PER_MODULE = 20
WORKERS = 3
REDIS_DB = 12
SOURCE = "soak"
BENCH = """import pathlib
compiled = sum(p.read_text().count("re.compile(") for p in pathlib.Path("soak").glob("*.py"))
print(f"seconds: {0.05 if compiled else 0.10}")
"""


def build_repository(root: Path, findings: int) -> list[dict]:
    """The soak repository (one commit) and a finding per function in it."""
    package = root / "soak"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    payloads = []
    modules = (findings + FUNCTIONS_PER_MODULE - 1) // FUNCTIONS_PER_MODULE
    for module in range(modules):
        path = f"soak/m{module}.py"
        lines = ["import re\n"]
        for number in range(FUNCTIONS_PER_MODULE):
            lines.append(
                f"\n\ndef match_{number}(text):\n"
                f'    return re.match(r"[a-z]+-{module}-{number}", text) is not None\n'
            )
            if len(payloads) < findings:
                payloads.append(
                    {
                        "kind": "opportunity",
                        "external_id": f"soak-{module}-{number}",
                        "source": SOURCE,
                        "service": "soak-svc",
                        "repository": "soak",
                        "title": f"Inline regex in soak.m{module}.match_{number}",
                        "metric": "cpu",
                        "magnitude_pct": 1.0,
                        "pattern": "precompile-regex",
                        "functions": [{"symbol": f"soak.m{module}.match_{number}", "file": path}],
                    }
                )
        (root / path).write_text("".join(lines))
    (root / "bench.py").write_text(BENCH)
    git = ["git", "-C", str(root), "-c", "user.name=Soak", "-c", "user.email=soak@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "soak"], check=True)
    return payloads


@dataclass
class Kill:
    """A fault (a SIGKILLed worker, or the connection cut) and the findings whose runs were in
    flight in what it hit; recovered_after_s: until those runs were all terminal again."""

    at: float
    interrupted: list[int]
    recovered_after_s: float | None = None


@dataclass
class SoakResult:
    broker: str
    findings: int
    seconds: float
    statuses: dict[str, int]
    lost: list[int]
    duplicates: list[int]
    kills: list[Kill] = field(default_factory=list)
    cut_connections: int = 0
    cut: Kill | None = None
    # finding → "status: error" of its latest run, for the runs that did not succeed
    unsolved: dict[int, str] = field(default_factory=dict)


def _cluster_env() -> dict[str, str]:
    return {
        "WATTSON_WORKERS": "1",
        "WATTSON_SANDBOX": "off",
        # The repository's commands run on the host here: the system's python3, as the sandbox
        # would find it, not a version manager's shim (a pyenv shim is a shell script that
        # cost 0.1 s per command, 19 commands a solve: most of a solve's time).
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "WATTSON_BENCH_RUNS": "1",
        # A solve here takes about a second: short deadlines make a killed worker's run (and a
        # Redis message it took with it) come back in tens of seconds, not minutes. The deadline
        # (timeout + 5 s) is not the kill period: a recovered run goes first, so with both at
        # 20 s it was claimed again just as the next kill came, and a third of those kills
        # hit it again (three in a row and the run gives up, as a poison run should).
        "WATTSON_SOLVE_TIMEOUT_S": "12",
        "WATTSON_SOLVE_RETRY_S": "20",
        "WATTSON_SOLVE_QUEUED_GRACE_S": "30",
        "WATTSON_AUTO_SOLVE": "1",
        "WATTSON_AUTO_SOLVE_MAX_PER_SOURCE": "100000",
        "WATTSON_AUTO_SOLVE_MAX_QUEUED": "100000",
        "WATTSON_INGEST_RATE": "100000/min",
    }


def _cut_connections(deployment: Deployment) -> int:
    rows = deployment.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return sum(1 for (killed,) in rows if killed)


def _group_pids(group: int) -> set[int]:
    """The processes of a cluster's process group (its sentinel, pusher, monitor, workers)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:
            pids.add(int(stat.parent.name))
    return pids


def _running(deployment: Deployment, pids: set[int] | None = None) -> list[int]:
    """Findings whose run is running; with `pids`, only those claimed by one of them (the
    claim's trace entry names the worker's pid)."""
    rows = deployment.query(
        "SELECT r.finding_id, r.trace FROM reviews_solverun r "
        "JOIN reviews_finding f ON f.id = r.finding_id WHERE f.source = ? AND r.status = ?",
        SOURCE,
        "running",
    )
    found = []
    for finding, trace in rows:
        claims = [
            step["summary"]
            for step in (json.loads(trace) if isinstance(trace, str) else trace or [])
            if step.get("tool") == "attempt"
        ]
        pid = claims[-1].rsplit("(pid ", 1)[-1].rstrip(")") if claims else ""
        if pids is None or (pid.isdigit() and int(pid) in pids):
            found.append(finding)
    return found


def _kill(deployment: Deployment, workers: list, result: SoakResult, log) -> None:
    """SIGKILL a random cluster (started again at once); the first kill cuts the connections."""
    victim = random.randrange(len(workers))
    interrupted = _running(deployment, _group_pids(workers[victim].pid))
    deployment.kill_cluster(workers[victim])
    result.kills.append(Kill(time.time(), interrupted))
    workers[victim] = deployment.start_cluster()
    log(f"[{result.broker}] kill {len(result.kills)}: worker {victim}, {len(interrupted)} runs")
    if len(result.kills) == 1:  # the connections are cut once, with the first kill
        # The killed worker's run is the kill's; the cut's are those of the living workers.
        in_flight = [f for f in _running(deployment) if f not in interrupted]
        result.cut_connections = _cut_connections(deployment)
        result.cut = Kill(time.time(), in_flight)
        log(f"[{result.broker}] cut {result.cut_connections} database connections")


def _runs(deployment: Deployment) -> dict[int, tuple[str, datetime | None]]:
    """finding id → (status, finished_at) of its latest run."""
    # Only the soak's own findings: a repository's registration may add survey findings too.
    rows = deployment.query(
        "SELECT DISTINCT ON (r.finding_id) r.finding_id, r.status, r.finished_at "
        "FROM reviews_solverun r JOIN reviews_finding f ON f.id = r.finding_id "
        "WHERE f.source = ? ORDER BY r.finding_id, r.id DESC",
        SOURCE,
    )
    return {finding: (status, finished) for finding, status, finished in rows}


def soak(
    tmp: Path,
    *,
    database_url: str,
    broker: str,
    findings: int,
    kill_every_s: float,
    limit_s: float,
    max_kills: int | None = None,
    kill_when_done: tuple[int, ...] = (),
    redis_url: str = "",
    log=print,
) -> SoakResult:
    """One soak run; returns what happened (the caller asserts).

    A worker is killed every `kill_every_s` seconds (at most `max_kills` times), or, with
    `kill_when_done`, once as many findings as each number there are terminal (a test's
    kills then land mid-run on any machine).
    """
    env = _cluster_env()
    if redis_url:
        env["REDIS_URL"] = redis_url
    deployment = Deployment(tmp, database_url=database_url, broker=broker, **env)
    deployment.manage("migrate", "--noinput")
    payloads = build_repository(tmp / "soak-repo", findings)
    deployment.manage(
        "add_repo", "soak", str(tmp / "soak-repo"), "--service", "soak-svc",
        "--test-cmd", "python3 -c 'import soak'", "--bench-cmd", "python3 bench.py",
    )  # fmt: skip
    workers = [deployment.start_cluster() for _ in range(WORKERS)]
    started = time.monotonic()
    try:
        for first in range(0, len(payloads), 500):
            batch = tmp / f"batch-{first}.json"
            batch.write_text(json.dumps(payloads[first : first + 500]))
            deployment.manage("ingest", str(batch), "--json")
        log(f"[{broker}] {findings} findings ingested in {time.monotonic() - started:.1f}s")
        result = SoakResult(broker, findings, 0.0, {}, [], [])
        next_kill = time.monotonic() + kill_every_s
        while time.monotonic() - started < limit_s:
            try:
                runs = _runs(deployment)
            except psycopg.OperationalError as exc:  # a shared server's connection slots full
                log(f"[{broker}] could not read the runs, trying again: {exc}")
                time.sleep(1.0)
                continue
            done = sum(1 for status, _ in runs.values() if status in TERMINAL)
            if done == findings:
                break
            count = len(result.kills)
            if kill_when_done:
                due = count < len(kill_when_done) and done >= kill_when_done[count]
            else:
                due = (max_kills is None or count < max_kills) and time.monotonic() >= next_kill
            if due:
                _kill(deployment, workers, result, log)
                next_kill += kill_every_s
            time.sleep(1.0)
        result.seconds = time.monotonic() - started
        _tally(deployment, result)
        return result
    finally:
        deployment.stop()


def _tally(deployment: Deployment, result: SoakResult) -> None:
    rows = deployment.query("SELECT id FROM reviews_finding WHERE source = ?", SOURCE)
    findings = [finding for (finding,) in rows]
    runs = _runs(deployment)
    for status, _ in runs.values():
        result.statuses[status] = result.statuses.get(status, 0) + 1
    result.lost = [f for f in findings if runs.get(f, ("", None))[0] not in TERMINAL]
    result.duplicates = [
        finding
        for finding, count in deployment.query(
            "SELECT finding_id, COUNT(*) FROM reviews_proposal GROUP BY finding_id "
            "HAVING COUNT(*) > 1"
        )
    ]
    result.unsolved = {
        finding: f"{status}: {error[:300]}"
        for finding, status, error in deployment.query(
            "SELECT DISTINCT ON (r.finding_id) r.finding_id, r.status, r.error "
            "FROM reviews_solverun r JOIN reviews_finding f ON f.id = r.finding_id "
            "WHERE f.source = ? ORDER BY r.finding_id, r.id DESC",
            SOURCE,
        )
        if status != "succeeded"
    }
    for fault in [*result.kills, *([result.cut] if result.cut else [])]:
        finished = [runs[f][1] for f in fault.interrupted if f in runs and runs[f][1] is not None]
        if len(finished) == len(fault.interrupted):
            latest = max(finished).astimezone(UTC).timestamp() if finished else fault.at
            fault.recovered_after_s = max(0.0, latest - fault.at)


def report(result: SoakResult, limit_s: float) -> list[str]:
    """Print the figures; the list of broken promises (empty when all held)."""
    costs = [k.recovered_after_s for k in result.kills if k.interrupted]
    print(f"\n== {result.broker} broker: {result.findings} findings, {WORKERS} workers ==")
    print(f"  all terminal after {result.seconds:.0f} s (limit {limit_s:.0f} s)")
    print(f"  run statuses: {result.statuses}")
    for finding, why in list(result.unsolved.items())[:5]:
        print(f"    finding {finding} not solved: {why}")
    print(f"  lost findings: {len(result.lost)}   duplicate proposals: {len(result.duplicates)}")
    print(f"  kills: {len(result.kills)}, connections cut once: {result.cut_connections}")
    for number, kill in enumerate(result.kills, start=1):
        cost = "-" if kill.recovered_after_s is None else f"{kill.recovered_after_s:.0f} s"
        print(
            f"    kill {number}: {len(kill.interrupted)} runs of the killed worker, "
            f"terminal again after {cost}"
        )
    if result.cut is not None:
        cut = result.cut
        cost = "-" if cut.recovered_after_s is None else f"{cut.recovered_after_s:.0f} s"
        print(
            f"    connection cut: {len(cut.interrupted)} runs in flight, all terminal after {cost}"
        )
    measured = [c for c in costs if c is not None]
    if measured:
        print(f"  cost of a kill: median {sorted(measured)[len(measured) // 2]:.0f} s, "
              f"max {max(measured):.0f} s")  # fmt: skip
    problems = []
    if result.lost:
        problems.append(f"{len(result.lost)} findings without a terminal run: {result.lost[:10]}")
    if result.duplicates:
        problems.append(f"findings with more than one proposal: {result.duplicates[:10]}")
    if result.seconds >= limit_s:
        problems.append(f"not all terminal within {limit_s:.0f} s")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=2000)
    parser.add_argument("--kill-every", type=float, default=20.0)
    parser.add_argument("--brokers", default="redis,orm")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--limit-s", type=float, default=2400.0)
    args = parser.parse_args()
    problems: list[str] = []
    for broker in args.brokers.split(","):
        with (
            tempfile.TemporaryDirectory(prefix=f"wattson-soak-{broker}-") as tmp,
            scratch_postgres(args.server_url, prefix="wattson_soak") as database_url,
            scratch_redis(REDIS_DB) as redis_url,
        ):
            result = soak(
                Path(tmp),
                database_url=database_url,
                broker=broker,
                findings=args.findings,
                kill_every_s=args.kill_every,
                limit_s=args.limit_s,
                redis_url=redis_url if broker == "redis" else "",
            )
            problems += [f"{broker}: {p}" for p in report(result, args.limit_s)]
    for problem in problems:
        print("FAILED:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
