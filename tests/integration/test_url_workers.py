"""Workers on two machines (issue #13 item 5): separate var dirs, one URL repository.

Two qcluster processes, each with its own WATTSON_VAR_DIR / WATTSON_WORK_DIR (no shared disk
but the remote, served over smart HTTP by git http-backend), solve two findings of the same
repository at the same time, on PostgreSQL and the Redis broker. Which worker takes which task
is made certain, not left to Redis: worker A is paused (SIGSTOP) mid-solve while B is started
and takes the second finding, then A resumes, so the two solves overlap.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import pytest
import redis

from tests.integration.test_worker_kill_redis import scratch_database  # noqa: F401 - fixture
from tests.reviews.test_worker_kill import TERMINAL, Deployment
from tests.scenarios import build_scenario
from tests.support.git_http import GitHttpServer

REDIS_DB = 12


@pytest.fixture
def scratch_redis_12():
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()


def _wait_until_no_blocked_pop(url: str, timeout: float = 30.0) -> None:
    client = redis.Redis.from_url(url)
    db = str(client.connection_pool.connection_kwargs.get("db", 0))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        clients = [entry for entry in client.client_list() if entry["db"] == db]
        if not any("b" in entry["flags"] for entry in clients):
            return
        time.sleep(0.1)
    raise AssertionError("a paused worker still holds a blocking pop on the queue")


def _mirrors(var_dir: Path) -> list[Path]:
    root = var_dir / "mirrors"
    return sorted(root.iterdir()) if root.is_dir() else []


def _times(deployment: Deployment, run_id: int) -> tuple[datetime, datetime]:
    started, finished = deployment.query(
        "SELECT started_at, finished_at FROM reviews_solverun WHERE id = ?", run_id
    )[0]
    return started, finished


def test_two_workers_with_separate_disks_solve_one_url_repository(
    tmp_path,
    scratch_database,  # noqa: F811 - the fixture imported above
    scratch_redis_12,
):
    built = build_scenario("label_regex", tmp_path / "source" / "label_regex")
    server = GitHttpServer(tmp_path / "remote").start()
    (tmp_path / "web").mkdir()
    deployment = Deployment(
        tmp_path / "web",
        database_url=scratch_database,
        broker="redis",
        REDIS_URL=scratch_redis_12,
        WATTSON_SOLVE_TIMEOUT_S="120",
        WATTSON_SOLVE_RETRY_S="150",
    )
    machines = {name: tmp_path / f"machine-{name}" for name in ("a", "b")}
    try:
        url = server.serve(built["path"], "acme/labels.git")
        deployment.manage("migrate", "--noinput")
        service = built["finding"]["service"]
        registered = json.loads(
            deployment.manage(
                "add_repo", "labels", url, "--service", service,
                "--test-cmd", built["meta"]["test_cmd"], "--json",
            ).stdout
        )  # fmt: skip
        assert registered["url"] == url and registered["path"] == ""
        findings = []
        for index in (1, 2):
            payload = tmp_path / f"finding-{index}.json"
            finding = {**built["finding"], "repository": "labels"}
            finding["external_id"] = f"{finding['external_id']}-{index}"
            finding["title"] = f"{finding.get('title', 'regression')} ({index})"
            payload.write_text(json.dumps(finding))
            out = json.loads(deployment.manage("ingest", str(payload), "--json").stdout)
            findings.append(out["created"][0])

        def machine_env(name: str) -> dict[str, str]:
            return {
                "WATTSON_VAR_DIR": str(machines[name] / "var"),
                "WATTSON_WORK_DIR": str(machines[name] / "work"),
            }

        first = json.loads(deployment.manage("solve", str(findings[0]), "--json").stdout)
        worker_a = deployment.start_cluster(**machine_env("a"), WATTSON_TEST_SOLVE_SLEEP_S="3")
        deployment.wait_for(findings[0], ("running",), timeout=60)
        os.killpg(worker_a.pid, signal.SIGSTOP)  # A holds finding 1 and takes nothing more
        # A paused inside its 1 s BLPOP would still be handed the next message by Redis (a pop
        # without receipt: lost until the sweeper's grace). Enqueue once it holds none.
        _wait_until_no_blocked_pop(scratch_redis_12)
        try:
            second = json.loads(deployment.manage("solve", str(findings[1]), "--json").stdout)
            deployment.start_cluster(**machine_env("b"))
            done_b = deployment.wait_for(findings[1], TERMINAL, timeout=120)
        finally:
            os.killpg(worker_a.pid, signal.SIGCONT)
        done_a = deployment.wait_for(findings[0], TERMINAL, timeout=120)

        assert done_a["status"] == "succeeded", done_a
        assert done_b["status"] == "succeeded", done_b
        for finding_id in findings:
            assert len(deployment.proposals(finding_id)) == 1
        # The two solves overlapped: each started before the other finished.
        started_a, finished_a = _times(deployment, first["run"])
        started_b, finished_b = _times(deployment, second["run"])
        assert started_a < finished_b and started_b < finished_a

        # Each machine cloned its own mirror; the web process has none; nothing else has one.
        mirror_a, mirror_b = (_mirrors(machines[name] / "var") for name in ("a", "b"))
        assert len(mirror_a) == 1 and len(mirror_b) == 1
        assert not _mirrors(tmp_path / "web" / "var")
        # Both fetched from the remote over HTTP (neither could read the other's disk).
        assert sum("git-upload-pack" in request.path for request in server.requests) >= 2
    finally:
        deployment.stop()
        server.stop()
