"""Load, measured: the production server (`bash .ci/prod`: gunicorn + whitenoise + qcluster) on
PostgreSQL, driven by --reviewers concurrent logged-in reviewers (queue, finding, proposal with a
2,000-line diff, reports) plus --ingesters detector accounts posting findings, for --seconds, on
127.0.0.1 only; then the same load against `manage.py runserver` on the same database.

    .venv/bin/python bench/load.py [--reviewers 50] [--ingesters 2] [--seconds 60] [--warmup 10]
        [--think-min 1] [--think-max 3] [--ingest-interval 0.5] [--saturation-seconds S]
        [--server-url postgresql://postgres@127.0.0.1:5432] [--skip-runserver]

A reviewer reads a page before the next click: each waits a think time drawn uniformly from
--think-min..--think-max seconds (1-3 s) between pages (and before the first, so the 50 do not
start at once); each detector posts a finding every --ingest-interval seconds. The targets (p95
<= 250 ms for the queue and the proposal page, 0 errors, on 2 cores) are judged on that run.
So that nothing is hidden, each server is then driven at saturation for --saturation-seconds
(default --seconds; 0 skips it): no think time, no interval, a closed loop that keeps reviewers
+ ingesters requests always in flight: the maximum throughput, and the latency when each request
queues behind the 51 others (no target). Before both, --warmup seconds of the paced load are not
counted: a server in service has its templates loaded and its database connections open.

Prints throughput, p50/p95/p99 per page, errors and the load average per server and phase.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# bench/queue.py would shadow the stdlib's queue module for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT / "bench"]
sys.path.insert(0, str(PROJECT))

TARGET_P95_MS = 250.0
TARGET_PAGES = ("queue", "proposal")
FINDINGS = 2000
DIFF_LINES = 2000


# --- seeding (runs inside the server's environment: `load.py --seed`) -------------------------


def _big_diff() -> str:
    # Each handler gives three diff lines (context, removed, added).
    old = [f"def handler_{i}(value):\n    return value + {i}\n" for i in range(DIFF_LINES // 3)]
    new = [f"def handler_{i}(value):\n    return value * {i}\n" for i in range(DIFF_LINES // 3)]
    body = difflib.unified_diff(
        "".join(old).splitlines(True), "".join(new).splitlines(True), "a/app/handlers.py",
        "b/app/handlers.py", n=1,
    )  # fmt: skip
    return "diff --git a/app/handlers.py b/app/handlers.py\n" + "".join(body)


def seed(reviewers: int) -> dict:
    """Users with sessions, an ingest token, FINDINGS findings and a proposal on one of them."""
    import hashlib

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    django.setup()

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from reviews.models import Finding, Proposal, SolveRun
    from reviews.roles import INGEST, REVIEWER
    from reviews.services.ingest import finding_ingest

    detector = User.objects.create_user("load-detector")
    detector.groups.add(Group.objects.get_or_create(name=INGEST)[0])
    payloads = [
        {
            "kind": random.choice(["regression", "opportunity"]),
            "external_id": f"load-{i}",
            "source": "load-seed",
            "service": f"service-{i % 40}",
            "title": f"CPU regression in app.module_{i}.handler",
            "metric": "cpu",
            "magnitude_pct": 0.5 + i % 30,
            "functions": [{"symbol": f"app.module_{i}.handler", "file": f"app/module_{i}.py"}],
        }
        for i in range(FINDINGS)
    ]
    for first in range(0, FINDINGS, 1000):
        finding_ingest(payload=payloads[first : first + 1000], actor=detector)
    finding = Finding.objects.order_by("id").first()
    run = SolveRun.objects.create(finding=finding, status=SolveRun.Status.SUCCEEDED)
    diff = _big_diff()
    proposal = Proposal.objects.create(
        finding=finding,
        revision=1,
        solve_run=run,
        diff=diff,
        diff_sha256=hashlib.sha256(diff.encode()).hexdigest(),
        base_commit="0" * 40,
        skill_slug="hoist-loop-invariant",
        rationale="Multiply instead of add.",
        estimated_watts=100.0,
        applies=True,
        tests_passed=True,
        bench_before_s=0.2,
        bench_after_s=0.1,
    )
    Finding.objects.filter(pk=finding.pk).update(status=Finding.Status.IN_REVIEW)
    group = Group.objects.get_or_create(name=REVIEWER)[0]
    sessions = []
    for number in range(reviewers):
        user = User.objects.create_user(f"load-reviewer-{number}")
        user.groups.add(group)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    return {
        "cookie": settings.SESSION_COOKIE_NAME,
        "sessions": sessions,
        "token": Token.objects.create(user=detector).key,
        "finding": finding.pk,
        "finding_ids": list(Finding.objects.values_list("id", flat=True)[:500]),
        # The queue's service filter takes a service's id (a name is ignored as invalid).
        "service_ids": list(Finding.objects.values_list("service_id", flat=True).distinct()),
        "proposal": proposal.pk,
        "diff_lines": diff.count("\n"),
    }


# --- the driver -------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def record(self, page: str, seconds: float, error: str = "") -> None:
        with self.lock:
            self.latencies[page].append(seconds)
            if error:
                self.errors[page].append(error)


def _timed(stats: Stats, page: str, connection, method: str, path: str, headers: dict,
           body: bytes | None = None) -> None:  # fmt: skip
    """One request, recorded with its latency (to the last byte of the body) or its error."""
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers={"Host": "127.0.0.1", **headers})
        response = connection.getresponse()
        response.read()
        error = "" if response.status in (200, 201) else f"HTTP {response.status}"
    except (OSError, http.client.HTTPException) as exc:
        error = type(exc).__name__
        connection.close()  # the next request opens a new connection
    stats.record(page, time.perf_counter() - started, error)


@dataclass(frozen=True)
class Pace:
    """How fast the simulated people and detectors go: seconds between one's requests."""

    think_min: float = 1.0
    think_max: float = 3.0
    ingest_interval: float = 0.5

    @property
    def closed_loop(self) -> bool:
        return self.think_max <= 0 and self.ingest_interval <= 0

    def think(self, stop: float) -> None:
        """A reviewer reads the page before the next click (never past the end of the run)."""
        if self.think_max > 0:
            pause = random.uniform(self.think_min, self.think_max)
            time.sleep(max(0.0, min(pause, stop - time.monotonic())))


def _reviewer(port: int, cookie: str, seed_data: dict, stop: float, stats: Stats, pace: Pace):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": f"{cookie}={seed_data['session']}"}
    services = seed_data["service_ids"]
    pages = [
        ("queue", lambda: "/"),
        ("queue", lambda: f"/?service={random.choice(services)}&sort=magnitude"),
        ("finding", lambda: f"/findings/{random.choice(seed_data['finding_ids'])}/"),
        ("proposal", lambda: f"/proposals/{seed_data['proposal']}/"),
        ("reports", lambda: "/reports/"),
    ]
    if pace.think_max > 0:  # arrive spread over a think time, not all in the first instant
        time.sleep(random.uniform(0, pace.think_max))
    while time.monotonic() < stop:
        page, path = random.choice(pages)
        _timed(stats, page, connection, "GET", path(), headers)
        pace.think(stop)


def _ingester(port: int, token: str, number: int, stop: float, stats: Stats, pace: Pace):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    sent = 0
    while time.monotonic() < stop:
        body = json.dumps({
            "kind": "regression", "external_id": f"live-{number}-{sent}-{secrets.token_hex(4)}",
            "source": "load-live", "service": f"service-{sent % 40}", "metric": "cpu",
            "title": "CPU regression seen under load", "magnitude_pct": 1.5,
            "functions": [{"symbol": f"app.live_{sent}.f", "file": f"app/live_{sent}.py"}],
        }).encode()  # fmt: skip
        sent += 1
        _timed(stats, "ingest", connection, "POST", "/api/v1/findings/", headers, body)
        if pace.ingest_interval > 0:
            time.sleep(max(0.0, min(pace.ingest_interval, stop - time.monotonic())))


def drive(
    port: int, seed_data: dict, *, reviewers: int, ingesters: int, seconds: float, pace: Pace
) -> Stats:
    stats = Stats()
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_reviewer,
            args=(port, seed_data["cookie"], {**seed_data, "session": session}, stop, stats, pace),
        )
        for session in seed_data["sessions"][:reviewers]
    ]
    threads += [
        threading.Thread(target=_ingester, args=(port, seed_data["token"], n, stop, stats, pace))
        for n in range(ingesters)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def report(name: str, stats: Stats, seconds: float) -> list[str]:
    total = sum(len(v) for v in stats.latencies.values())
    errors = sum(len(v) for v in stats.errors.values())
    print(f"\n== {name}: {total / seconds:.1f} requests/s, {errors} errors ==")
    print(f"  {'page':10} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors")
    problems = []
    for page in ("queue", "finding", "proposal", "reports", "ingest"):
        values = stats.latencies.get(page, [])
        if not values:
            continue
        p95 = _percentile(values, 0.95)
        kinds = sorted(set(stats.errors.get(page, [])))
        print(
            f"  {page:10} {len(values):6} {statistics.median(values) * 1000:8.0f} {p95:8.0f} "
            f"{_percentile(values, 0.99):8.0f}  {len(stats.errors.get(page, []))} {kinds[:3]}"
        )
        if page in TARGET_PAGES and p95 > TARGET_P95_MS:
            problems.append(f"{name}: {page} p95 {p95:.0f} ms > {TARGET_P95_MS:.0f} ms")
    if errors:
        problems.append(f"{name}: {errors} errors")
    return problems


# --- the servers ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(port: int, process: subprocess.Popen, timeout: float = 180) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            if connection.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not answer in time")


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def server_env(database_url: str, var_dir: Path) -> dict[str, str]:
    # The caller's own settings stay out, except gunicorn's size (to compare configurations).
    keep = ("WATTSON_WEB_WORKERS", "WATTSON_WEB_THREADS")
    env = {
        k: v
        for k, v in os.environ.items()
        if k in keep or not k.startswith(("WATTSON_", "DJANGO_"))
    }
    env.update(
        {
            "WATTSON_ENV": "production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on 127.0.0.1: no TLS in front here (the cookie header is sent by hand).
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url,
            "WATTSON_VAR_DIR": str(var_dir),
            "WATTSON_BIND": "127.0.0.1",
            "WATTSON_AUTO_SOLVE": "0",
            "WATTSON_INGEST_RATE": "1000000/min",
            "WATTSON_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _phases(args) -> list[tuple[str, Pace, float]]:
    """(label, pace, seconds) of each run against a server: the reviewers reading pages, then
    the saturation run with no think time."""
    paced = Pace(args.think_min, args.think_max, args.ingest_interval)
    label = (
        f"{args.reviewers} reviewers, think time {args.think_min:g}-{args.think_max:g} s "
        f"(a reviewer reads a page before the next click), {args.ingesters} detectors posting "
        f"every {args.ingest_interval:g} s"
    )
    phases = [(label, paced, args.seconds)]
    if args.saturation_seconds > 0:
        saturated = (
            f"saturation: no think time, a closed loop of {args.reviewers} reviewers + "
            f"{args.ingesters} detectors always in flight (maximum throughput, no target)"
        )
        phases.append((saturated, Pace(0, 0, 0), args.saturation_seconds))
    return phases


def run_phases(
    server: str, port: int, seed_data: dict, args, *, judged: bool, log: Path
) -> list[str]:
    """Drive one server through every phase; the problems against the targets (paced phase of
    the judged server only)."""
    problems = []
    phases = _phases(args)
    if args.warmup > 0:  # a fresh server loads templates and opens connections on its first
        drive(port, seed_data, reviewers=args.reviewers, ingesters=args.ingesters,
              seconds=args.warmup, pace=phases[0][1])  # fmt: skip
        print(f"\n{server}: warmed up with {args.warmup:g} s of the paced load (not counted)")
    for label, pace, seconds in phases:
        before = os.getloadavg()[0]
        stats = drive(
            port, seed_data, reviewers=args.reviewers, ingesters=args.ingesters,
            seconds=seconds, pace=pace,
        )  # fmt: skip
        load = os.getloadavg()
        found = report(f"{server} — {label}", stats, seconds)
        print(
            f"  load average: {before:.2f} before, {load[0]:.2f} (1 min) and {load[1]:.2f} "
            f"(5 min) after, on {os.cpu_count()} cores"
        )
        if judged and not pace.closed_loop:
            problems += found
        if any(stats.errors.values()):
            print("  server log, last error: " + _last_error(log))
    return problems


def _last_error(log: Path) -> str:
    """The last exception in a server log, plain or JSON lines (production logs JSON)."""
    text = log.read_text(errors="replace")
    trace = text[text.rfind("Traceback") :] if "Traceback" in text else "none logged"
    line = next((ln for ln in reversed(text.splitlines()) if "Traceback" in ln), "")
    with contextlib.suppress(ValueError, KeyError, TypeError):  # a JSON line: its exc_info
        trace = json.loads(line)["exc_info"]
    return " | ".join(trace.strip().splitlines()[-3:])[:600]


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviewers", type=int, default=50)
    parser.add_argument("--ingesters", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think-min", type=float, default=1.0, help="seconds (default 1)")
    parser.add_argument("--think-max", type=float, default=3.0, help="seconds (default 3)")
    parser.add_argument("--ingest-interval", type=float, default=0.5, help="seconds (0.5)")
    parser.add_argument(
        "--saturation-seconds", type=float, default=None,
        help="the closed-loop run with no think time (default: --seconds; 0 skips it)",
    )  # fmt: skip
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds, not counted (10)")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--skip-runserver", action="store_true")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # internal: seed and exit
    args = parser.parse_args()
    if args.saturation_seconds is None:
        args.saturation_seconds = args.seconds
    if not 0 <= args.think_min <= args.think_max:
        parser.error("need 0 <= --think-min <= --think-max")
    return args


def _seed_through_server_env(env: dict, reviewers: int) -> dict:
    seeded = subprocess.run(
        [sys.executable, __file__, "--seed", str(reviewers)],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    seed_data = json.loads(seeded.stdout.strip().splitlines()[-1])
    print(
        f"seeded {FINDINGS} findings, a {seed_data['diff_lines']}-line diff, "
        f"{len(seed_data['sessions'])} reviewer sessions; load average "
        f"{os.getloadavg()[0]:.2f} before"
    )
    return seed_data


def main() -> int:
    args = _parse_args()
    if args.seed is not None:
        print(json.dumps(seed(args.seed)))
        return 0

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    django.setup()  # tests.deployment imports the scenario builder (Django models)
    from tests.deployment import scratch_postgres

    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="wattson-load-") as tmp,
        scratch_postgres(args.server_url, prefix="wattson_load") as database_url,
    ):
        env = server_env(database_url, Path(tmp))
        port = _free_port()
        prod = subprocess.Popen(
            ["bash", ".ci/prod"], cwd=PROJECT, env={**env, "PORT": str(port)},
            stdout=open(Path(tmp) / "prod.log", "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait_until_up(port, prod)
            seed_data = _seed_through_server_env(env, args.reviewers)
            problems += run_phases(
                "gunicorn (bash .ci/prod)", port, seed_data, args, judged=True,
                log=Path(tmp) / "prod.log",
            )  # fmt: skip
        finally:
            _stop(prod)
        if not args.skip_runserver:
            port = _free_port()
            dev = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                # A thread per request: persistent connections would exhaust PostgreSQL's slots.
                cwd=PROJECT, env={**env, "DATABASE_CONN_MAX_AGE": "0"},
                stdout=open(Path(tmp) / "dev.log", "w"),  # noqa: SIM115
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            try:
                _wait_until_up(port, dev)
                run_phases(
                    "runserver (for comparison, no target)", port, seed_data, args,
                    judged=False, log=Path(tmp) / "dev.log",
                )  # fmt: skip
            finally:
                _stop(dev)
    print(
        f"\ntargets (judged on the gunicorn run with think time): p95 <= {TARGET_P95_MS:.0f} ms "
        f"for {', '.join(TARGET_PAGES)}; 0 errors"
    )
    for problem in problems:
        print("MISSED:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
