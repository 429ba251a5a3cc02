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
runs it interrupted were terminal again. Needs PostgreSQL (and Redis) on 127.0.0.1.
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


def _cluster_env() -> dict[str, str]:
    return {
        "WATTSON_WORKERS": "1",
        "WATTSON_SANDBOX": "off",
        "WATTSON_BENCH_RUNS": "1",
        # A solve here takes about a second: short deadlines make a killed worker's run (and a
        # Redis message it took with it) come back in tens of seconds, not minutes.
        "WATTSON_SOLVE_TIMEOUT_S": "15",
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
    redis_url: str = "",
    log=print,
) -> SoakResult:
    """One soak run; returns what happened (the caller asserts)."""
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
            runs = _runs(deployment)
            done = [f for f, (status, _) in runs.items() if status in TERMINAL]
            if len(done) == findings:
                break
            may_kill = max_kills is None or len(result.kills) < max_kills
            if may_kill and time.monotonic() >= next_kill:
                running = [f for f, (status, _) in runs.items() if status == "running"]
                victim = random.randrange(len(workers))
                deployment.kill_cluster(workers[victim])
                workers[victim] = deployment.start_cluster()
                result.kills.append(Kill(time.time(), running))
                log(f"[{broker}] kill {len(result.kills)}: worker {victim}, {len(done)} done")
                if len(result.kills) == 1:  # the connections are cut once, with the first kill
                    result.cut_connections = _cut_connections(deployment)
                    log(f"[{broker}] cut {result.cut_connections} database connections")
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
    for kill in result.kills:
        finished = [runs[f][1] for f in kill.interrupted if f in runs and runs[f][1] is not None]
        if finished and len(finished) == len(kill.interrupted):
            latest = max(finished).astimezone(UTC).timestamp()
            kill.recovered_after_s = max(0.0, latest - kill.at)


def report(result: SoakResult, limit_s: float) -> list[str]:
    """Print the figures; the list of broken promises (empty when all held)."""
    costs = [k.recovered_after_s for k in result.kills]
    print(f"\n== {result.broker} broker: {result.findings} findings, {WORKERS} workers ==")
    print(f"  all terminal after {result.seconds:.0f} s (limit {limit_s:.0f} s)")
    print(f"  run statuses: {result.statuses}")
    print(f"  lost findings: {len(result.lost)}   duplicate proposals: {len(result.duplicates)}")
    print(f"  kills: {len(result.kills)}, connections cut once: {result.cut_connections}")
    for number, kill in enumerate(result.kills, start=1):
        cost = "-" if kill.recovered_after_s is None else f"{kill.recovered_after_s:.0f} s"
        print(f"    kill {number}: {len(kill.interrupted)} runs interrupted, recovered in {cost}")
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
