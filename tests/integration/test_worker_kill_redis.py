"""The worker-kill scenario on PostgreSQL with the Redis broker, where a killed task is lost.

Redis pops a task without a receipt, so only the database-truth sweeper brings the run back.
Uses its own PostgreSQL database and Redis db number, dropped and flushed afterwards.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.deployment import Deployment, scratch_postgres
from tests.deployment import scratch_redis as redis_db
from tests.reviews.test_worker_kill import kill_mid_solve_and_recover

REDIS_DB = 13


def _server_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgresql://{user}{password}@{host}:{port}"


@pytest.fixture
def scratch_database():
    with scratch_postgres(_server_url(), prefix="wattson_kill") as url:
        yield url


@pytest.fixture
def scratch_redis():
    with redis_db(REDIS_DB) as url:
        yield url


def test_killed_worker_run_completes_once_on_redis_broker(
    tmp_path, scratch_database, scratch_redis
):
    deployment = Deployment(
        tmp_path, database_url=scratch_database, broker="redis", REDIS_URL=scratch_redis
    )
    try:
        kill_mid_solve_and_recover(deployment)
    finally:
        deployment.stop()
