"""Benchmark: the savings report over 1,000,000 decisions spread over two years.

    .venv/bin/python bench/reports.py                      # SQLite in a temp dir
    .venv/bin/python bench/reports.py --database-url postgres://postgres@127.0.0.1:5432/wattson_bench_reports

Loads the data with bulk SQL (COPY on PostgreSQL), then times the reports page and the API
(median and worst of several requests, after one warm-up). Target: ≤ 1 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# bench/queue.py would shadow the standard library's queue module: run from the project root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT / "bench"]
sys.path.insert(0, str(PROJECT))

from bench.common import ensure_postgres_database  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--decisions", type=int, default=1_000_000)
parser.add_argument("--database-url", default="")
parser.add_argument("--requests", type=int, default=5)
parser.add_argument(
    "--reuse", action="store_true", help="time the data already loaded by an earlier run"
)
args = parser.parse_args()

tmp = tempfile.mkdtemp(prefix="wattson-bench-reports-")
os.environ["WATTSON_VAR_DIR"] = tmp
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
if args.database_url:
    ensure_postgres_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
else:
    os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from reviews import rollups  # noqa: E402
from reviews.models import Decision, Finding, Proposal, Service  # noqa: E402


def reset_database() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


def load(model, rows: list[dict]) -> None:
    """Bulk-load plain rows: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    # Columns added since these rows were written down take their model default ("" for a
    # blank text field), so a new NOT NULL field does not break the benchmark.
    defaults = {
        f.column: f.get_default()
        for f in model._meta.concrete_fields
        if f.column not in rows[0]
        and not getattr(f, "generated", False)
        and (f.has_default() or not f.null)
    }
    rows = [{**defaults, **row} for row in rows] if defaults else rows
    cols = list(rows[0])
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buf = io.StringIO()
            for row in rows:
                buf.write("\t".join(_copy_value(row[c]) for c in cols) + "\n")
            buf.seek(0)
            raw = cursor.cursor  # psycopg 3 cursor
            with raw.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                copy.write(buf.read())
        else:
            placeholders = ", ".join(["%s"] * len(cols))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})",  # noqa: S608
                [[_sql_value(row[c]) for c in cols] for row in rows],
            )


def _sql_value(value):
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return value


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return json.dumps(value).replace("\\", "\\\\")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


VERDICT_STATUS = {"approve": "approved", "reject": "rejected", "request_changes": "pending"}
FINDING_STATUS = {"approved": "fixed", "rejected": "rejected", "pending": "in_review"}
SKILLS = [
    "memoize",
    "precompile-regex",
    "logging-sampling",
    "membership-set",
    "string-join",
    "hoist-loop-invariant",
    "revert-hunk",
]
REASONS = ["incorrect", "not_root_cause", "unsafe", "no_measurable_gain", "readability"]
START = dt.datetime(2024, 11, 25, tzinfo=dt.UTC)
SPAN_S = 2 * 365 * 24 * 3600
CHUNK = 50_000


def populate(n: int) -> None:
    rng = random.Random(42)
    reviewer = User.objects.create_user("bench-reviewer", password="x")
    reviewer.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    services = [
        Service.objects.create(
            name=f"service-{i:02d}", team=f"team-{i % 8}", fleet_servers=rng.randint(100, 40_000)
        )
        for i in range(40)
    ]
    t0 = time.perf_counter()
    # Bulk load without the per-row rollup triggers, then rebuild the rollups once: the same
    # rows the triggers would have written (tests/reviews/test_report_rollups.py).
    with connection.cursor() as cursor:
        for statement in rollups.uninstall_sql(connection.vendor):
            cursor.execute(statement)
    for first in range(1, n + 1, CHUNK):
        rows = [
            _history(i, rng, services=services, reviewer_id=reviewer.pk)
            for i in range(first, min(n, first + CHUNK - 1) + 1)
        ]
        load(Finding, [finding for finding, _, _ in rows])
        load(Proposal, [proposal for _, proposal, _ in rows])
        load(Decision, [decision for _, _, decision in rows])
    _rollups_and_statistics(n)
    print(f"loaded {n:,} findings, proposals and decisions in {time.perf_counter() - t0:.1f} s")


def _history(
    i: int, rng: random.Random, *, services: list[Service], reviewer_id: int
) -> tuple[dict, dict, dict]:
    """Finding, proposal and decision rows number i (the draws in a fixed order: same data)."""
    created = START + dt.timedelta(seconds=rng.randrange(SPAN_S))
    # Realistic shape: each service has its own detector; the survey (detector 4) sends
    # opportunities, the others regressions; skills follow the code.
    service_index = rng.randrange(len(services))
    detector = service_index % 5
    shared = {
        "service_id": services[service_index].pk,
        "source": f"detector-{detector}",
        "kind": "opportunity" if detector == 4 else "regression",
    }
    skill = SKILLS[rng.choice((service_index, service_index + 1, service_index * 3)) % 7]
    verdict = rng.choices(["approve", "reject", "request_changes"], [70, 20, 10])[0]
    status = VERDICT_STATUS[verdict]
    proposed = created + dt.timedelta(seconds=rng.randint(60, 3600))
    decided = proposed + dt.timedelta(seconds=rng.randint(300, 48 * 3600))
    watts = rng.uniform(10, 5000)
    finding = _finding_row(i, shared, status=status, watts=watts, created=created)
    proposal = _proposal_row(
        i, shared, status=status, skill=skill, watts=watts, times=(created, proposed, decided)
    )
    decision = {
        "id": i,
        "proposal_id": i,
        "revision": 1,
        "diff_sha256": "",
        "base_commit": "",
        "reviewer_id": reviewer_id,
        "verdict": verdict,
        "reason": rng.choice(REASONS) if verdict == "reject" else "",
        "comment": "",
        "is_override": False,
        "override_reason": "",
        "dismissed": False,
        "created_at": decided,
        "skill_slug": skill,
        "skill_version_number": 1,
        **shared,
        "decision_seconds": (decided - proposed).total_seconds(),
    }
    return finding, proposal, decision


def _finding_row(i: int, shared: dict, *, status: str, watts: float, created) -> dict:
    return {
        "id": i,
        "kind": shared["kind"],
        "source": shared["source"],
        "external_id": f"e{i}",
        "payload_sha256": "0" * 64,
        "service_id": shared["service_id"],
        "repository_id": None,
        "title": f"finding {i}",
        "metric": "cpu",
        "magnitude_pct": 1.0,
        "baseline": None,
        "current": None,
        "confidence": None,
        "detected_at": None,
        "functions": [],
        "root_cause_commit": "",
        "root_cause_title": "",
        "root_cause_author": "",
        "root_cause_url": "",
        "pattern": "",
        "evidence": {},
        "status": FINDING_STATUS[status],
        "assignee_id": None,
        "estimated_watts": watts * 2,
        "created_at": created,
        "updated_at": created,
    }


def _proposal_row(i: int, shared: dict, *, status: str, skill: str, watts: float, times) -> dict:
    created, proposed, decided = times
    return {
        "id": i,
        "finding_id": i,
        "revision": 1,
        "solve_run_id": None,
        "status": status,
        "is_current": True,
        "skill_version_id": None,
        "skill_slug": skill,
        "backend": "offline",
        "model_name": "",
        "is_analysis": False,
        "diff": "",
        "diff_sha256": "",
        "base_commit": "",
        "rationale": "",
        "risks": "",
        "expected_recovery": 0.5,
        "measured_recovery": None,
        "estimated_watts": watts,
        "measured_watts": watts * 0.9 if i % 2 else None,
        "applies": True,
        "apply_log": "",
        "tests_passed": True,
        "test_log": "",
        "bench_before_s": None,
        "bench_after_s": None,
        "bench_log": "",
        "usage": {},
        "cost_usd": None,
        "requested_by_id": None,
        "edited_by_id": None,
        "branch_name": "",
        "branch_commit": "x" if status == "approved" else "",
        "stale_reason": "",
        "created_at": proposed,
        "decided_at": None if status == "pending" else decided,
        **shared,
        "finding_created_at": created,
        "seconds_to_propose": (proposed - created).total_seconds(),
    }


def _rollups_and_statistics(n: int) -> None:
    """Put the triggers back, rebuild the rollups once, and let the planner see the new rows."""
    with connection.cursor() as cursor:
        for statement in rollups.install_sql(connection.vendor):
            cursor.execute(statement)
    t1 = time.perf_counter()
    rollups.rebuild()
    print(f"rollups rebuilt in {time.perf_counter() - t1:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "reviews_finding",
                "reviews_proposal",
                "reviews_decision",
                "reviews_savingsweek",
                "reviews_decisionweek",
                "reviews_funnelweek",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n + 1})"  # noqa: S608
                )
                cursor.execute(f"VACUUM ANALYZE {table}")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(client: Client, url: str, runs: int) -> list[float]:
    client.get(url)  # warm-up: connection, caches, query plans
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, (url, response.status_code)
    return times


def main() -> None:
    if args.reuse and Decision.objects.exists():
        call_command("migrate", verbosity=0)
    else:
        reset_database()
        populate(args.decisions)
    manager, _ = User.objects.get_or_create(username="bench-manager")
    manager.groups.add(Group.objects.get_or_create(name="manager")[0])
    client = Client()
    client.force_login(manager)
    print(f"database: {connection.vendor}, decisions: {Decision.objects.count():,}")
    for label, url in [
        ("page, all time", "/reports/"),
        ("API, all time", "/api/v1/reports/savings/"),
        ("page, one quarter", "/reports/?start=2025-07-01&end=2025-09-30"),
        ("API, one team", "/api/v1/reports/savings/?team=team-3"),
    ]:
        times = timed(client, url, args.requests)
        print(
            f"{label:20s} median {statistics.median(times) * 1000:8.0f} ms   "
            f"max {max(times) * 1000:8.0f} ms"
        )
    if connection.vendor == "postgresql":
        print("target: ≤ 1000 ms on PostgreSQL")


if __name__ == "__main__":
    main()
