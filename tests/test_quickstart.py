"""The README's quickstart, bounded: demo, web + worker through honcho, log in, Ctrl-C stops both.

`bash .ci/dev` runs setup, `migrate`, `demo` and then `honcho start -f Procfile`; this test runs
the same steps (setup is this very virtualenv) against a temporary WATTSON_VAR_DIR and a free
port, so it never touches a developer's database or a running console.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
HONCHO = Path(sys.executable).parent / "honcho"
STARTUP_TIMEOUT_S = 90
STOP_TIMEOUT_S = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quickstart_env(var_dir: Path, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WATTSON_", "DJANGO_")) and key not in ("DATABASE_URL",)
    }
    env.update(WATTSON_VAR_DIR=str(var_dir), PORT=str(port), PYTHONUNBUFFERED="1")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


class Browser:
    """Just enough of a browser: cookies, and the CSRF token from the login form."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def login(self, username: str, password: str) -> str:
        _, _, page = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(
            self.base + "/login/", data=form, headers={"Referer": self.base + "/login/"}
        )
        with self.opener.open(request, timeout=30) as response:
            return response.geturl()


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def started_processes(log_path: Path) -> dict[str, int]:
    """honcho's "web.1 started (pid=N)" lines: process name -> pid (also its group id)."""
    text = log_path.read_text() if log_path.exists() else ""
    return {
        name: int(pid) for name, pid in re.findall(r"(web|worker)\.1 started \(pid=(\d+)\)", text)
    }


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def test_quickstart_runs_web_and_worker_and_ctrl_c_stops_both(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    env = quickstart_env(var_dir, port)
    manage(env, "migrate", "--noinput")
    demo = json.loads(manage(env, "demo", "--json"))
    password = next(u["password"] for u in demo["users"] if u["username"] == "rita")

    log_path = tmp_path / "honcho.log"
    with open(log_path, "w") as log:
        honcho = subprocess.Popen(
            [str(HONCHO), "start", "-f", "Procfile"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group, as in a terminal: SIGINT goes to honcho alone, which must
            # stop the processes it started.
            start_new_session=True,
        )
    try:
        browser = Browser(f"http://127.0.0.1:{port}")

        def login_page() -> bool:
            if honcho.poll() is not None:
                pytest.fail(f"honcho exited early:\n{log_path.read_text()[-3000:]}")
            try:
                return browser.get("/login/")[0] == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        wait_for(login_page, STARTUP_TIMEOUT_S, "the login page")
        assert browser.login("rita", password).rstrip("/").endswith(str(port))
        status, url, queue = browser.get("/")
        assert status == 200 and not url.endswith("/login/")
        assert "CPU regression in invoicing.render.clean_description" in queue
        assert "Seller filter scans a 256-entry list for every candidate" in queue

        # The worker is alive: it claims the solve runs auto-solve queued during the demo.
        database = var_dir / "wattson.sqlite3"

        def worker_claimed_a_run() -> bool:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
                row = db.execute(
                    "SELECT COUNT(*) FROM reviews_solverun WHERE status != 'queued'"
                ).fetchone()
            return row[0] > 0

        wait_for(worker_claimed_a_run, STARTUP_TIMEOUT_S, "the worker to claim a solve run")

        children = started_processes(log_path)
        assert set(children) == {"web", "worker"}

        honcho.send_signal(signal.SIGINT)
        honcho.wait(timeout=STOP_TIMEOUT_S)
        # honcho starts each process in its own session: the group id is the process id, and
        # an empty group means the process and everything it forked are gone.
        wait_for(
            lambda: not any(group_alive(pid) for pid in children.values()),
            STOP_TIMEOUT_S,
            "web and worker to stop",
        )
        with pytest.raises(urllib.error.URLError):
            browser.get("/login/")
    finally:
        # A failed run must not leave a server behind: honcho's children live in their own
        # sessions, so killing honcho alone would orphan them.
        if honcho.poll() is None:
            honcho.terminate()
            try:
                honcho.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
                honcho.wait()
        for pid in started_processes(log_path).values():
            if group_alive(pid):
                os.killpg(pid, signal.SIGKILL)
