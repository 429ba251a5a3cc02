"""Benchmark: seconds from ingest to a ready proposal, one real worker, every shared scenario.

    .venv/bin/python bench/solve.py                  # all scenarios, temp SQLite, ORM broker
    .venv/bin/python bench/solve.py --scenario feed_sku_regex --repeat 3

For each scenario: build its repository, register it, ingest its finding through the ingest
service (auto-solve on, as in production), and let ONE `manage.py qcluster` worker (a real
subprocess on the same temp SQLite database) solve it. The clock runs from the ingest call to
the moment the proposal row exists. Prints each, then the median and p95. Every scenario is
solved twice, WATTSON_SANDBOX=off then required, to print the sandbox's cost per solve.
Target (baseline "solve-v1"): median <= 10 s. Dominated by validation: 3 benchmark runs before
and 3 after the patch, plus the repository's tests.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT / "bench"]
sys.path.insert(0, str(PROJECT))
SHARED = Path(os.environ.get("WATTSON_SHARED_DIR", PROJECT.parent / "shared"))
SCENARIOS = sorted(p.name for p in (SHARED / "scenarios").glob("*") if (p / "build.py").is_file())
TARGET_MEDIAN_S = 10.0

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="default: all")
parser.add_argument("--repeat", type=int, default=1, help="solves per scenario")
parser.add_argument("--timeout", type=float, default=120.0, help="per solve, seconds")
args = parser.parse_args()

tmp = Path(tempfile.mkdtemp(prefix="wattson-bench-solve-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "WATTSON_VAR_DIR": str(tmp / "var"),
        "WATTSON_WORK_DIR": str(tmp / "work"),
        "WATTSON_BROKER": "orm",
        "WATTSON_WORKERS": "1",
        "WATTSON_AUTO_SOLVE": "1",
        "WATTSON_LOG_LEVEL": "WARNING",
    }
)
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from reviews.models import Proposal, SolveRun  # noqa: E402
from reviews.services.ingest import finding_ingest  # noqa: E402
from reviews.services.repositories import repository_register  # noqa: E402


def build(name: str, dest: Path) -> tuple[dict, dict]:
    out = subprocess.run(
        [sys.executable, str(SHARED / "scenarios" / name / "build.py"), str(dest)],
        check=True,
        capture_output=True,
        text=True,
    )
    finding = json.loads(out.stdout.strip().splitlines()[-1])
    meta = json.loads((SHARED / "scenarios" / name / "scenario.json").read_text())
    return finding, meta


def solve_once(name: str, index: int) -> tuple[float, str]:
    finding, meta = build(name, tmp / f"{name}-{index}")
    repo_name = f"{name}-{index}"
    repository_register(
        name=repo_name,
        path=str(tmp / repo_name),
        service_name=f"{finding['service']}-{index}",
        test_cmd=meta["test_cmd"],
        bench_cmd=meta["bench_cmd"],
        branch="main",
        actor=None,
    )
    payload = {
        **finding,
        "service": f"{finding['service']}-{index}",
        "external_id": f"{finding['external_id']}-{index}",
        "repository": repo_name,
    }
    started = time.perf_counter()
    result = finding_ingest(payload=payload, actor=None)
    if result.errors:
        raise SystemExit(f"{name}: ingest failed: {result.errors}")
    finding_id = result.created[0]
    deadline = started + args.timeout
    while time.perf_counter() < deadline:
        proposal = Proposal.objects.filter(finding_id=finding_id).first()
        if proposal is not None:
            return time.perf_counter() - started, proposal.skill_slug
        run = SolveRun.objects.filter(finding_id=finding_id).order_by("-id").first()
        if run is not None and run.status in ("no_fix", "failed"):
            raise SystemExit(f"{name}: the solve ended {run.status}: {run.error}")
        time.sleep(0.05)
    raise SystemExit(f"{name}: no proposal after {args.timeout:g}s")


def solve_pass(mode: str, offset: int) -> list[float]:
    """Every scenario solved by one worker running with WATTSON_SANDBOX=mode."""
    log = open(tmp / f"qcluster-{mode}.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=PROJECT,
        env={**os.environ, "WATTSON_SANDBOX": mode},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timings: list[float] = []
    try:
        time.sleep(2.0)  # let the cluster start its worker before the clock runs
        for name in args.scenario or SCENARIOS:
            for index in range(offset, offset + args.repeat):
                seconds, skill = solve_once(name, index)
                timings.append(seconds)
                print(f"{mode:8s} {name:24s} {seconds:6.2f} s  ({skill})", flush=True)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    return timings


def main() -> None:
    call_command("migrate", "--noinput", verbosity=0)
    # The sandbox's cost per solve, measured in the same run: unsandboxed first, then sandboxed.
    plain = solve_pass("off", offset=0)
    timings = solve_pass("required", offset=args.repeat)
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    median = statistics.median(ordered)
    plain_median = statistics.median(plain)
    print(
        f"sandbox cost: median {plain_median:.2f} s off, {median:.2f} s required "
        f"(x{median / plain_median:.2f}, {median - plain_median:+.2f} s per solve)"
    )
    verdict = "meets" if median <= TARGET_MEDIAN_S else "MISSES"
    print(f"median {median:.2f} s, p95 {p95:.2f} s over {len(ordered)} sandboxed solves")
    print(f"baseline solve-v1: target median <= {TARGET_MEDIAN_S:g} s — {verdict} it")


if __name__ == "__main__":
    main()
