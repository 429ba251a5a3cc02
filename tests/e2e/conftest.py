"""Browser tests: headless Debian Chromium driven by Playwright against pytest-django's live_server.

Skipped when /usr/bin/chromium is missing, unless WATTSON_REQUIRE_SERVICES=1 (CI), which makes
that a failure. Never `playwright install`: the browser is the system's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection as django_connection
from django.db.backends.signals import connection_created

from tests.conftest import PASSWORD, PROJECT_DIR

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run inside
# one unless told that this is deliberate (the test thread never shares a connection with it).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = PROJECT_DIR / "artifacts" / "screenshots"


# One browser per test module, not per session: Playwright's sync API keeps an event loop
# running while it is open, and later tests (the MCP client) need to start their own.
@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("WATTSON_REQUIRE_SERVICES") == "1":
            pytest.fail(f"WATTSON_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _read_uncommitted(connection, on: bool = True) -> None:
    if connection.vendor == "sqlite" and connection.creation.is_in_memory_db(
        connection.settings_dict["NAME"]
    ):
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA read_uncommitted = {int(on)}")


def _on_connection_created(sender, connection, **kwargs) -> None:
    _read_uncommitted(connection)


@pytest.fixture(autouse=True)
def _readers_pass_table_locks(django_db_blocker):
    """The SQLite test database lives in memory with a shared cache: there a page read that
    meets a background solve's table lock fails at once ("database table is locked") instead of
    waiting, as it would on the product's WAL file. Readers in these tests read through the
    lock (shared-cache read-uncommitted); writers still serialise."""
    if django_connection.connection is not None:  # already open: set it now, else when it opens
        with django_db_blocker.unblock():
            _read_uncommitted(django_connection)
    connection_created.connect(_on_connection_created)
    yield
    connection_created.disconnect(_on_connection_created)
    # The test thread's connection outlives the test: later tests get it as it was.
    if django_connection.connection is not None:
        with django_db_blocker.unblock():
            _read_uncommitted(django_connection, on=False)


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab (own cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    # A CSP violation or a script error is a bug a user would hit: collect them for tests.
    tab.console_errors = []
    tab.on(
        "console",
        lambda message: (
            tab.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()


def login(page, user, password: str = PASSWORD) -> None:
    """Log in through the real login form and wait until the app has let us in."""
    page.goto("/login/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if "/login/" in page.url:
        raise AssertionError(f"login as {user.get_username()} failed: still on {page.url}")


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save artifacts/screenshots/<name>.png (gitignored) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
