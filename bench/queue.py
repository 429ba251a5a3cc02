"""Benchmark: the review queue page over 100,000 findings.

    .venv/bin/python bench/queue.py                     # SQLite in a temp WATTSON_VAR_DIR
    .venv/bin/python bench/queue.py --database-url postgres://postgres@127.0.0.1:5432/wattson_bench

Creates the findings with bulk_create, then requests the queue page (logged in, through
django.test.Client: middleware, template and all) with a mix of filters and sorts, and prints
p50/p95 in ms and the SQL queries per request. Target: p95 ≤ 150 ms. Exit status 1 if missed.
The PostgreSQL database is created if missing and its tables are dropped and rebuilt.
"""

from __future__ import annotations

import sys

# This file is named like the standard library's `queue`: take its folder off the import path
# before anything imports `queue` (concurrent.futures does).
if sys.path and sys.path[0].rstrip("/").endswith("bench"):
    sys.path.pop(0)

import argparse
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from bench.common import ensure_postgres_database  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--findings", type=int, default=100_000)
parser.add_argument("--requests", type=int, default=50)
parser.add_argument("--database-url", default="")
parser.add_argument("--target-ms", type=float, default=150.0)
parser.add_argument(
    "--reuse", action="store_true", help="keep the loaded data if it is already there"
)
parser.add_argument("--var-dir", default="", help="SQLite directory (default: a new temp dir)")
args = parser.parse_args()

os.environ["WATTSON_VAR_DIR"] = args.var_dir or tempfile.mkdtemp(prefix="wattson-bench-queue-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
os.environ["DJANGO_DEBUG"] = "0"  # the numbers should be what production sees
if args.database_url:
    os.environ["DATABASE_URL"] = args.database_url
else:
    os.environ.pop("DATABASE_URL", None)


if args.database_url:
    ensure_postgres_database(args.database_url)

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from reviews.models import Finding, Service, Source  # noqa: E402

# Filter/sort mixes a reviewer actually uses; each runs args.requests / len(MIXES) times.
MIXES = [
    "/",
    "/?sort=watts",
    "/?status=in_review&sort=magnitude",
    "/?kind=opportunity&service=7",
    "/?mine=1",
    "/?status=open&sort=status&per_page=100",
    "/?source=detector-3&sort=oldest",
    "/?kind=regression&status=new&sort=watts&page=40",
]


def reset_database() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


def populate(n: int) -> User:
    rng = random.Random(7)
    reviewer = User.objects.create_user("bench-reviewer", password="x")
    reviewer.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    assignees = [reviewer] + [User.objects.create_user(f"bench-user-{i}") for i in range(19)]
    services = [Service.objects.create(name=f"service-{i:02d}") for i in range(40)]
    Source.objects.bulk_create([Source(name=f"detector-{i}") for i in range(6)])
    statuses = [s.value for s in Finding.Status]
    weights = [30, 3, 12, 8, 4, 20, 8, 15]
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    created_at = Finding._meta.get_field("created_at")
    # bulk_create runs pre_save, and auto_now_add would stamp every row "now"; spread them over
    # a year instead, as real data would be.
    created_at.auto_now_add = False
    try:
        with transaction.atomic():
            batch: list[Finding] = []
            for i in range(n):
                kind = "regression" if rng.random() < 0.6 else "opportunity"
                magnitude = round(rng.uniform(0.1, 25.0), 2)
                batch.append(
                    Finding(
                        kind=kind,
                        source=f"detector-{i % 6}",
                        external_id=f"bench-{i}",
                        payload_sha256="0" * 64,
                        service=services[rng.randrange(len(services))],
                        title=f"CPU {kind} in pkg.module_{i % 997}.function_{i % 89}",
                        metric="cpu",
                        magnitude_pct=magnitude,
                        functions=[{"symbol": f"pkg.module_{i % 997}.function_{i % 89}"}],
                        evidence={"profile": f"flame-{i}", "samples": list(range(20))},
                        status=rng.choices(statuses, weights)[0],
                        assignee=assignees[rng.randrange(len(assignees))]
                        if rng.random() < 0.7
                        else None,
                        estimated_watts=rng.lognormvariate(7, 1.5),
                        created_at=now - dt.timedelta(seconds=rng.randrange(365 * 24 * 3600)),
                    )
                )
                if len(batch) == 5000:
                    Finding.objects.bulk_create(batch)
                    batch = []
            Finding.objects.bulk_create(batch)
    finally:
        created_at.auto_now_add = True
    with connection.cursor() as cursor:
        # VACUUM too on PostgreSQL: index-only scans need the visibility map it builds.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return reviewer


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    t0 = time.perf_counter()
    reviewer = None
    if args.reuse:
        call_command("migrate", verbosity=0)  # the schema may have moved on since the load
        reviewer = User.objects.filter(username="bench-reviewer").first()
    if reviewer is None or Finding.objects.count() != args.findings:
        reset_database()
        reviewer = populate(args.findings)
    load_s = time.perf_counter() - t0
    client = Client()
    client.force_login(reviewer)
    for url in MIXES:  # warm-up: connections, template cache, the database's own caches
        assert client.get(url).status_code == 200, url

    timings: dict[str, list[float]] = {url: [] for url in MIXES}
    queries: dict[str, int] = {}
    for i in range(args.requests):
        url = MIXES[i % len(MIXES)]
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (url, response.status_code)
        timings[url].append(elapsed)
        queries[url] = len(captured)

    everything = [ms for values in timings.values() for ms in values]
    p50, p95 = statistics.median(everything), percentile(everything, 95)
    print(
        f"queue page, {args.findings:,} findings on {connection.vendor} "
        f"(loaded in {load_s:.1f}s), {len(everything)} requests"
    )
    print(f"{'request':55} {'p50 ms':>8} {'max ms':>8} {'queries':>8}")
    for url, values in timings.items():
        if values:
            print(f"{url:55} {statistics.median(values):8.1f} {max(values):8.1f} {queries[url]:8d}")
    verdict = "PASS" if p95 <= args.target_ms else "FAIL"
    print(
        f"overall p50 {p50:.1f} ms, p95 {p95:.1f} ms (target ≤ {args.target_ms:.0f} ms): {verdict}"
    )
    print(
        json.dumps(
            {
                "bench": "queue",
                "vendor": connection.vendor,
                "findings": args.findings,
                "requests": len(everything),
                "p50_ms": round(p50, 1),
                "p95_ms": round(p95, 1),
                "queries_per_request": sorted(set(queries.values())),
                "pass": verdict == "PASS",
            }
        )
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
