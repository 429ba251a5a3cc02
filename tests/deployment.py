"""Wattson run as an operator runs it, for the worker-kill tests and the soak benchmark.

Real `manage.py` commands and `qcluster` subprocesses on their own database (a temp SQLite file,
or a scratch PostgreSQL database) and broker (the ORM, or a scratch Redis db number).
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
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tests.scenarios import build_scenario

PROJECT_DIR = Path(__file__).resolve().parents[1]


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
        """SIGTERM every cluster still running at once (each takes up to its timeout to wind
        down), then wait for them: SIGKILL after 15 s."""
        running = [process for process in self.clusters if process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        end = time.monotonic() + 15
        for process in running:
            try:
                process.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

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


def postgres_server_url(database_url: str) -> str:
    """postgresql://user[:password]@host:port of a database URL, without the database."""
    import dj_database_url

    config = dj_database_url.parse(database_url)
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    return (
        f"postgresql://{config.get('USER') or 'postgres'}{password}"
        f"@{config.get('HOST') or '127.0.0.1'}:{config.get('PORT') or 5432}"
    )


@contextlib.contextmanager
def scratch_postgres(server_url: str, prefix: str = "wattson_scratch") -> Iterator[str]:
    """A new PostgreSQL database on that server for the block, dropped (connections too) after."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def scratch_redis(db_number: int) -> Iterator[str]:
    """A Redis db number on 127.0.0.1, flushed before and after the block."""
    import redis

    url = f"redis://127.0.0.1:6379/{db_number}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
