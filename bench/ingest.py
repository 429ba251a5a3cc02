"""Benchmark: findings ingest through the REST API, in batches.

    .venv/bin/python bench/ingest.py                       # SQLite in a temp dir
    .venv/bin/python bench/ingest.py --database-url postgres://postgres@127.0.0.1:5432/wattson_bench
    .venv/bin/python bench/ingest.py --findings 5000 --batch 100 --signed

Posts N findings (default 20,000) to POST /api/v1/findings/ in batches (default 500) with a
token of an `ingest` account, through the whole Django stack in-process (django.test.Client),
then re-sends every batch (the idempotent path). Prints findings per second for both.
Target: >= 1,000 findings/s on SQLite. On PostgreSQL the run only adds rows under a fresh
source name, so pointing it at a shared database destroys nothing.
Post-ingest hooks (auto-solve) are switched off with WATTSON_AUTO_SOLVE=0: this measures ingest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# `python bench/ingest.py` puts bench/ first on sys.path, where a sibling script named like a
# standard library module (bench/queue.py) would shadow it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT / "bench"]
sys.path.insert(0, str(PROJECT))

from bench.common import ensure_postgres_database  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--findings", type=int, default=20_000)
parser.add_argument("--batch", type=int, default=500)
parser.add_argument("--services", type=int, default=50)
parser.add_argument("--database-url", default="")
parser.add_argument("--signed", action="store_true", help="give the source a secret and sign")
args = parser.parse_args()

tmp = tempfile.mkdtemp(prefix="wattson-bench-ingest-")
os.environ["WATTSON_VAR_DIR"] = tmp
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
os.environ["DJANGO_DEBUG"] = "0"  # DEBUG keeps every SQL query in memory
os.environ["WATTSON_AUTO_SOLVE"] = "0"
if args.database_url:
    os.environ["DATABASE_URL"] = args.database_url
else:
    os.environ.pop("DATABASE_URL", None)


ensure_postgres_database(args.database_url)

SOURCE = f"bench-{uuid.uuid4().hex[:8]}"
SECRET = "bench-secret"
if args.signed:
    os.environ["WATTSON_SOURCE_SECRETS"] = json.dumps({SOURCE: SECRET})

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from reviews.api.auth import signature_header  # noqa: E402
from reviews.models import Finding  # noqa: E402
from reviews.roles import INGEST  # noqa: E402
from reviews.services.ingest import POST_INGEST_HOOKS  # noqa: E402


def make_finding(n: int) -> dict:
    regression = n % 3 != 0
    data = {
        "kind": "regression" if regression else "opportunity",
        "external_id": f"{SOURCE}-{n}",
        "source": SOURCE,
        "service": f"bench-service-{n % args.services}",
        "title": f"CPU regression in pkg.mod{n % 97}.func{n % 13}",
        "metric": "cpu",
        "magnitude_pct": 0.1 + (n % 500) / 100,
        "baseline": 100.0,
        "current": 100.0 + n % 40,
        "confidence": 0.9,
        "detected_at": "2026-11-01T12:00:00Z",
        "functions": [
            {"symbol": f"pkg.mod{n % 97}.func{n % 13}", "file": f"pkg/mod{n % 97}.py", "line": 10}
        ],
        "evidence": {"samples": n % 1000, "p50_ms": 12.5, "host": f"web-{n % 64}"},
    }
    if regression:
        data["root_cause"] = {
            "commit": f"{n:040x}",
            "author": f"engineer{n % 20}@example.com",
            "title": "Refactor the parser",
        }
    return data


def main() -> None:
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-ingest")
    user.groups.add(Group.objects.get_or_create(name=INGEST)[0])
    for i in range(20):  # root-cause authors, so assignment by email is part of the work
        User.objects.get_or_create(
            username=f"bench-engineer{i}", defaults={"email": f"engineer{i}@example.com"}
        )
    token, _ = Token.objects.get_or_create(user=user)
    client = Client()
    auth = {"Authorization": f"Token {token.key}"}

    bodies = [
        json.dumps(
            [make_finding(n) for n in range(start, min(start + args.batch, args.findings))]
        ).encode()
        for start in range(0, args.findings, args.batch)
    ]

    def post_all(expect: int) -> tuple[float, float]:
        started, cpu_started = time.perf_counter(), time.process_time()
        for body in bodies:
            headers = dict(auth)
            if args.signed:
                headers["X-Wattson-Signature"] = signature_header(SECRET, body)
            response = client.post(
                "/api/v1/findings/", data=body, content_type="application/json", headers=headers
            )
            if response.status_code != expect:
                sys.exit(f"unexpected {response.status_code}: {response.content[:500]!r}")
        return time.perf_counter() - started, time.process_time() - cpu_started

    # Warm up imports and caches (schema compilation, URL resolver) outside the timing.
    client.get("/api/v1/findings/", headers=auth)

    first, first_cpu = post_all(201)
    stored = Finding.objects.filter(source=SOURCE).count()
    if stored != args.findings:
        sys.exit(f"expected {args.findings} findings stored, found {stored}")
    again, again_cpu = post_all(200)

    vendor = connection.vendor
    print(
        f"database: {vendor}; {args.findings} findings in batches of {args.batch}"
        f"{', signed' if args.signed else ''}; post-ingest hooks registered: "
        f"{len(POST_INGEST_HOOKS)} (auto-solve off)"
    )
    # CPU time of this process (client and server share it) tells a busy machine from slow code.
    for label, wall, cpu in (("ingest: ", first, first_cpu), ("re-send:", again, again_cpu)):
        print(
            f"{label} {wall:6.2f} s wall, {args.findings / wall:7,.0f} findings/s; "
            f"{cpu:6.2f} s CPU, {args.findings / cpu:7,.0f} findings per CPU-second"
        )
    print("target: >= 1,000 findings/s on SQLite (first line)")


if __name__ == "__main__":
    main()
