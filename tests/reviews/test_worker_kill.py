"""A worker killed mid-solve: the sweeper and a fresh cluster finish the run, exactly once.

Runs real `manage.py qcluster` processes on their own database (a temp SQLite file here; the
integration suite reuses `Deployment` on PostgreSQL with the Redis broker). The solve sleeps
through the test hook WATTSON_TEST_SOLVE_SLEEP_S, so the kill lands mid-solve.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import PROJECT_DIR
from tests.scenarios import build_scenario

TERMINAL = ("succeeded", "no_fix", "failed")


class Deployment:
    """Wattson as an operator runs it: management commands and qcluster subprocesses."""

    def __init__(self, tmp: Path, *, database_url: str = "", broker: str = "orm", **env) -> None:
        self.tmp = tmp
        self.database_url = database_url
        self.broker = broker
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("WATTSON_", "DATABASE_URL", "PYTEST", "DJANGO_SETTINGS"))
        }
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "console.settings",
                "WATTSON_VAR_DIR": str(tmp / "var"),
                "WATTSON_WORK_DIR": str(tmp / "work"),
                "WATTSON_BROKER": broker,
                "WATTSON_WORKERS": "1",
                "WATTSON_SOLVE_TIMEOUT_S": "10",
                "WATTSON_SOLVE_RETRY_S": "12",
                "WATTSON_AUTO_SOLVE": "0",
                "WATTSON_TEST_HOOKS": "1",
                "WATTSON_LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(env)
        self.clusters: list[subprocess.Popen] = []

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result

    def setup_scenario(self, name: str, *, bench: bool = False) -> int:
        """Migrate, build and register the scenario, ingest its finding; the finding id."""
        self.manage("migrate", "--noinput")
        built = build_scenario(name, self.tmp / name)
        args = ["add_repo", name, str(built["path"]), "--service", built["finding"]["service"]]
        args += ["--test-cmd", built["meta"]["test_cmd"]]
        if bench:
            args += ["--bench-cmd", built["meta"]["bench_cmd"]]
        self.manage(*args)
        payload = self.tmp / f"{name}.json"
        payload.write_text(json.dumps({**built["finding"], "repository": name}))
        created = json.loads(self.manage("ingest", str(payload), "--json").stdout)["created"]
        return created[0]

    def start_cluster(self, **env: str) -> subprocess.Popen:
        log = open(self.tmp / f"cluster-{len(self.clusters)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=PROJECT_DIR,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.clusters.append(process)
        return process

    def kill_cluster(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop(self) -> None:
        for process in self.clusters:
            if process.poll() is None:
                self.kill_cluster(process, signal.SIGTERM)

    def query(self, sql: str, *params) -> list[tuple]:
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url.replace("postgres://", "postgresql://")) as c:
                return c.execute(sql.replace("?", "%s"), params).fetchall()
        with sqlite3.connect(self.tmp / "var" / "wattson.sqlite3", timeout=20) as connection:
            return connection.execute(sql, params).fetchall()

    def run_row(self, finding_id: int) -> dict | None:
        rows = self.query(
            "SELECT id, status, attempts, deadline_at FROM reviews_solverun "
            "WHERE finding_id = ? ORDER BY id DESC",
            finding_id,
        )
        if not rows:
            return None
        run_id, status, attempts, deadline = rows[0]
        if isinstance(deadline, str):
            deadline = datetime.fromisoformat(deadline).replace(tzinfo=UTC)
        return {"id": run_id, "status": status, "attempts": attempts, "deadline_at": deadline}

    def wait_for(self, finding_id: int, statuses: tuple[str, ...], timeout: float) -> dict:
        end = time.monotonic() + timeout
        row = None
        while time.monotonic() < end:
            row = self.run_row(finding_id)
            if row and row["status"] in statuses:
                return row
            time.sleep(0.3)
        logs = "\n".join(p.read_text()[-3000:] for p in sorted(self.tmp.glob("cluster-*.log")))
        raise AssertionError(f"run never reached {statuses}: {row}\n{logs}")

    def wait_for_drained_queue(self, timeout: float) -> None:
        """ORM broker: every queued message, a killed worker's re-delivery included, was handled.

        The broker deletes a message when a worker acknowledges it, and re-delivers one whose
        worker died once its lock (the retry time) runs out. Redis pops without a receipt: a
        killed worker's message is gone, so there is nothing to wait for.
        """
        if self.broker != "orm":
            return
        end = time.monotonic() + timeout
        left = None
        while time.monotonic() < end:
            left = self.query("SELECT id, lock FROM django_q_ormq")
            if not left:
                return
            time.sleep(0.3)
        raise AssertionError(f"queued messages never handled: {left}")

    def proposals(self, finding_id: int) -> list[tuple]:
        return self.query(
            "SELECT id, revision, is_current, skill_slug FROM reviews_proposal "
            "WHERE finding_id = ?",
            finding_id,
        )


def kill_mid_solve_and_recover(deployment: Deployment) -> None:
    """The shared scenario of both kill tests."""
    finding_id = deployment.setup_scenario("label_regex")
    queued = json.loads(deployment.manage("solve", str(finding_id), "--json").stdout)
    assert queued["status"] == "queued"

    doomed = deployment.start_cluster(WATTSON_TEST_SOLVE_SLEEP_S="120")
    running = deployment.wait_for(finding_id, ("running",), timeout=30)
    assert running["attempts"] == 1
    deployment.kill_cluster(doomed)  # kill -9 the whole process group, mid-solve

    # Nothing finishes a run whose worker is dead until its deadline passes.
    wait = (running["deadline_at"] - datetime.now(UTC)).total_seconds()
    time.sleep(max(0.0, wait) + 0.5)
    swept = json.loads(deployment.manage("sweep", "--json").stdout)
    assert swept["recovered"] == [running["id"]]

    deployment.start_cluster()
    done = deployment.wait_for(finding_id, TERMINAL, timeout=60)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    proposals = deployment.proposals(finding_id)
    assert len(proposals) == 1, proposals
    assert proposals[0][1] == 1 and proposals[0][2] in (True, 1)
    assert proposals[0][3] == "precompile-regex"
    # The killed worker's leftover message (ORM broker re-delivery) must not add a second one.
    deployment.wait_for_drained_queue(timeout=60)
    assert len(deployment.proposals(finding_id)) == 1


def test_killed_worker_run_completes_once_on_orm_broker(tmp_path):
    deployment = Deployment(tmp_path)
    try:
        kill_mid_solve_and_recover(deployment)
    finally:
        deployment.stop()
