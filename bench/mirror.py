"""Benchmark: what a URL repository's mirror costs a solve, and a fetch on demand.

    .venv/bin/python bench/mirror.py              # label_regex, 2 solves of each kind
    .venv/bin/python bench/mirror.py --repeat 3 --scenario tag_membership

One scenario (tests/scenarios), in this process, on a temp SQLite database, solved by the same
service the worker runs (solve_run_execute), three ways in the same run:

    local path      the repository registered by its work tree, as before
    URL, cold       registered by its smart-HTTP URL (git http-backend behind a local server):
                    the solve clones this machine's partial mirror first
    URL, warm       the mirror exists; WATTSON_MIRROR_MAX_AGE_S=0, so each solve still fetches

Then the fetch on demand: a commit is pushed to the remote after the mirror was made, and the
time for the mirror to fetch it (and move its checkout) is printed beside a no-op check.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT / "bench"]
sys.path.insert(0, str(PROJECT))

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--scenario", default="label_regex")
parser.add_argument("--repeat", type=int, default=2, help="solves of each kind")
args = parser.parse_args()

tmp = Path(tempfile.mkdtemp(prefix="wattson-bench-mirror-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "WATTSON_VAR_DIR": str(tmp / "var"),
        "WATTSON_WORK_DIR": str(tmp / "work"),
        "WATTSON_AUTO_SOLVE": "0",
        "WATTSON_MIRROR_MAX_AGE_S": "0",
        "WATTSON_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from reviews.models import Finding, SolveRun  # noqa: E402
from reviews.services.ingest import finding_ingest  # noqa: E402
from reviews.services.repositories import repository_register  # noqa: E402
from reviews.services.solving import solve_request, solve_run_execute  # noqa: E402
from skills.mirrors import mirror_ensure, mirror_for  # noqa: E402
from tests.scenarios import build_scenario  # noqa: E402
from tests.support.git_http import GitHttpServer  # noqa: E402


def git(repo: Path, *argv: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *argv], check=True, capture_output=True, text=True
    ).stdout.strip()


def solve_once(name: str, location: str, built: dict, index: int) -> float:
    meta = built["meta"]
    repository_register(
        name=name,
        path=location,
        service_name=f"{name}-svc",
        test_cmd=meta["test_cmd"],
        bench_cmd=meta["bench_cmd"],
        branch="main",
        actor=None,
    )
    payload = {
        **built["finding"],
        "service": f"{name}-svc",
        "repository": name,
        "external_id": f"{name}-{index}",
    }
    finding = Finding.objects.get(pk=finding_ingest(payload=payload, actor=None).created[0])
    started = time.perf_counter()
    run = solve_run_execute(run_id=solve_request(finding=finding, actor=None, enqueue=False).pk)
    elapsed = time.perf_counter() - started
    if run.status != SolveRun.Status.SUCCEEDED:
        raise SystemExit(f"{name}: solve {run.status}: {run.error}")
    return elapsed


def main() -> None:
    call_command("migrate", verbosity=0)
    built = build_scenario(args.scenario, tmp / "source" / args.scenario)
    server = GitHttpServer(tmp / "remote").start()
    try:
        url = server.serve(built["path"], f"acme/{args.scenario}.git")
        timings: dict[str, list[float]] = {"local path": [], "URL, cold": [], "URL, warm": []}
        for index in range(args.repeat):
            timings["local path"].append(solve_once("local", str(built["path"]), built, index))
            shutil.rmtree(settings.WATTSON_MIRROR_DIR, ignore_errors=True)
            timings["URL, cold"].append(solve_once("remote", url, built, index))
            timings["URL, warm"].append(solve_once("remote", url, built, index + 1000))

        # Fetch on demand: a commit the mirror lacks.
        mirror = mirror_for(name="remote", url=url)
        clone = tmp / "pusher"
        git(tmp, "clone", "-q", url, str(clone))
        fetches, noops = [], []
        for index in range(args.repeat):
            (clone / f"later-{index}.txt").write_text(f"{index}\n")
            git(clone, "add", ".")
            git(clone, "-c", "user.name=B", "-c", "user.email=b@x", "commit", "-qm", "later")
            git(clone, "push", "-q", "origin", "HEAD:main")
            sha = git(clone, "rev-parse", "HEAD")
            started = time.perf_counter()
            mirror_ensure(
                name="remote", url=url, default_branch="main", commits=(sha,), max_age_s=3600
            )
            fetches.append(time.perf_counter() - started)
            started = time.perf_counter()
            mirror_ensure(
                name="remote", url=url, default_branch="main", commits=(sha,), max_age_s=3600
            )
            noops.append(time.perf_counter() - started)
        assert git(mirror.checkout, "rev-parse", "HEAD") == sha
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"scenario {args.scenario}, {args.repeat} solve(s) of each kind (median, max):")
    local = statistics.median(timings["local path"])
    for kind, values in timings.items():
        median = statistics.median(values)
        print(
            f"  solve, {kind:<11} {median:6.2f} s  (max {max(values):5.2f} s)  "
            f"{median - local:+.2f} s vs local"
        )
    print(
        f"  fetch on demand      {statistics.median(fetches) * 1000:6.0f} ms  "
        f"(a pushed commit fetched, checkout moved; max {max(fetches) * 1000:.0f} ms)"
    )
    print(
        f"  commit already there {statistics.median(noops) * 1000:6.0f} ms  "
        "(cat-file check only, nothing fetched)"
    )


if __name__ == "__main__":
    main()
