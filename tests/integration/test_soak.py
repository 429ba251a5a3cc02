"""The soak benchmark, short: 3 workers on PostgreSQL solve the findings while a worker is
SIGKILLed twice and every database connection is cut once, with the Redis broker and with the
ORM broker; nothing is lost, nothing doubled, every run terminal within the stated time.

200 findings per broker, two kills (the issue's short version); WATTSON_SOAK_FINDINGS sets
another size. bench/soak.py runs the long one (2,000 findings, a kill every 20 s, both brokers).
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from bench.soak import report, soak
from tests.deployment import scratch_postgres, scratch_redis

pytestmark = pytest.mark.integration

FINDINGS = int(os.environ.get("WATTSON_SOAK_FINDINGS", "200"))
# Every run terminal within this, kills and the cut included: a killed worker's run waits out
# its deadline (17 s) and then goes ahead of the queue; a message lost otherwise waits for its
# grace period (30 s) and the minutely sweep.
LIMIT_S = 240.0 + 2.0 * FINDINGS
REDIS_DB = 11


def _server_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"


@pytest.mark.parametrize("broker", ["redis", "orm"])
def test_findings_survive_killed_workers_and_cut_connections(tmp_path, broker):
    with (
        scratch_postgres(_server_url(), prefix="wattson_soak") as database_url,
        scratch_redis(REDIS_DB) as redis_url,
    ):
        result = soak(
            tmp_path,
            database_url=database_url,
            broker=broker,
            redis_url=redis_url if broker == "redis" else "",
            findings=FINDINGS,
            kill_every_s=20.0,
            # A quarter and half way through: mid-run whatever the machine's speed.
            kill_when_done=(FINDINGS // 4, FINDINGS // 2),
            limit_s=LIMIT_S,
        )
    problems = report(result, LIMIT_S)
    logs = "\n".join(p.read_text()[-1500:] for p in sorted(tmp_path.glob("cluster-*.log")))
    assert len(result.kills) == 2 and result.cut_connections > 0, result
    assert not problems, (problems, logs)
    # Every finding solved once: no run failed for a kill or the cut, none solved twice.
    assert result.statuses == {"succeeded": FINDINGS}, (result.unsolved, logs)
    assert result.cut is not None and result.cut.recovered_after_s is not None, result.cut
