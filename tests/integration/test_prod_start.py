"""`bash .ci/prod` on PostgreSQL and Redis: gunicorn and qcluster up, ready, and Ctrl-C stops both.

Runs the real script (setup, migrate, collectstatic, honcho with Procfile.prod) against a fresh
database, its own Redis database number and a free port, as the quickstart test does for .ci/dev.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.test_quickstart import (
    PROJECT_DIR,
    STOP_TIMEOUT_S,
    free_port,
    group_alive,
    started_processes,
    wait_for,
)

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
STARTUP_TIMEOUT_S = 240
METRICS_TOKEN = "integration-scrape-token"


@pytest.fixture
def fresh_database():
    name = f"wattson_prod_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fetch(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def prod_env(tmp_path: Path, database_url: str, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WATTSON_", "DJANGO_", "PROMETHEUS_")) and key != "DATABASE_URL"
    }
    env.update(
        WATTSON_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # No TLS proxy in front of this test: plain HTTP must not be redirected.
        DJANGO_SECURE_SSL_REDIRECT="off",
        DATABASE_URL=database_url,
        WATTSON_BROKER="redis",
        # A database number of its own: another suite's cluster must not take our tasks.
        REDIS_URL=f"redis://127.0.0.1:6379/{11 + port % 4}",
        WATTSON_WORKERS="1",
        WATTSON_WEB_WORKERS="2",
        WATTSON_BIND="127.0.0.1",
        WATTSON_VAR_DIR=str(tmp_path / "var"),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        WATTSON_METRICS_TOKEN=METRICS_TOKEN,
        WATTSON_SANDBOX="auto",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


def test_prod_serves_on_postgres_and_redis_and_ctrl_c_stops_both(tmp_path, fresh_database):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "prod.log"
    with open(log_path, "w") as log:
        prod = subprocess.Popen(
            ["bash", ".ci/prod"],
            cwd=PROJECT_DIR,
            env=prod_env(tmp_path, fresh_database, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def ready() -> bool:
            if prod.poll() is not None:
                pytest.fail(f".ci/prod exited early:\n{log_path.read_text()[-4000:]}")
            try:
                return fetch(base + "/readyz", {"X-Request-ID": "itest-ready"})[0] == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        # Ready needs the database, Redis and a heartbeat from the qcluster.
        wait_for(ready, STARTUP_TIMEOUT_S, "/readyz to answer 200")
        status, _, body = fetch(base + "/readyz")
        report = json.loads(body)
        assert report["ready"] and report["checks"]["broker"]["detail"] == "redis ok"
        assert fetch(base + "/healthz")[2] == b"ok"

        # Django logs a 404 as a warning: the line must carry the request's id.
        assert fetch(base + "/no-such-page/", {"X-Request-ID": "itest-404"})[0] == 404
        status, headers, page = fetch(base + "/login/")
        assert status == 200
        assert headers["X-Request-ID"]
        # Static files come from whitenoise, under their hashed manifest names.
        stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page.decode())
        assert stylesheet, page.decode()[:2000]
        status, headers, css = fetch(base + stylesheet.group(1), {"Accept-Encoding": "gzip"})
        assert status == 200 and css
        assert "immutable" in headers["Cache-Control"]

        status, _, metrics = fetch(base + "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert status == 200
        assert (
            b'wattson_http_request_duration_seconds_count{method="GET",status="200",view="login"}'
            in metrics
        )

        children = started_processes(log_path)
        assert set(children) == {"web", "worker"}
        prod.send_signal(signal.SIGINT)
        prod.wait(timeout=STOP_TIMEOUT_S + 20)
        wait_for(
            lambda: not any(group_alive(pid) for pid in children.values()),
            STOP_TIMEOUT_S + 20,
            "gunicorn and qcluster to stop",
        )
        with pytest.raises(urllib.error.URLError):
            fetch(base + "/healthz")
        # Production logs are JSON lines carrying the request id (honcho prefixes each line).
        lines = [line.split("| ", 1)[-1] for line in log_path.read_text().splitlines()]
        documents = [json.loads(line) for line in lines if line.startswith("{")]
        assert any(doc.get("request_id") == "itest-404" for doc in documents), lines[-40:]
    finally:
        if prod.poll() is None:
            prod.terminate()
            try:
                prod.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(prod.pid, signal.SIGKILL)
                prod.wait()
        for pid in started_processes(log_path).values():
            if group_alive(pid):
                os.killpg(pid, signal.SIGKILL)
