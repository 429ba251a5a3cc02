"""The worker-kill scenario on PostgreSQL with the Redis broker, where a killed task is lost.

Redis pops a task without a receipt, so only the database-truth sweeper brings the run back.
Uses its own PostgreSQL database and Redis db number, dropped and flushed afterwards.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
import redis
from django.conf import settings

from tests.reviews.test_worker_kill import Deployment, kill_mid_solve_and_recover

REDIS_DB = 13


def _server_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{host}:{port}"


@pytest.fixture
def scratch_database():
    name = f"wattson_kill_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{_server_url()}/{name}"
    finally:
        with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_redis():
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()


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
