"""The integration suite runs on PostgreSQL and the Redis broker.

`.ci/test` runs it in a second pytest pass with DATABASE_URL and WATTSON_BROKER=redis set.
Elsewhere it is skipped, unless WATTSON_REQUIRE_SERVICES=1, which makes missing services a
failure (CI has both).
"""

from __future__ import annotations

import os
import socket

import pytest
from django.conf import settings


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def services_problem() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "integration tests need DATABASE_URL=postgres://... (see .ci/test)"
    if settings.WATTSON_BROKER != "redis":
        return "integration tests need WATTSON_BROKER=redis (see .ci/test)"
    if not _reachable("127.0.0.1", 5432):
        return "PostgreSQL is not reachable on 127.0.0.1:5432"
    if not _reachable("127.0.0.1", 6379):
        return "Redis is not reachable on 127.0.0.1:6379"
    return None


@pytest.fixture(autouse=True)
def _require_services():
    problem = services_problem()
    if problem:
        if os.environ.get("WATTSON_REQUIRE_SERVICES") == "1":
            pytest.fail(f"WATTSON_REQUIRE_SERVICES=1 but {problem}")
        pytest.skip(problem)
