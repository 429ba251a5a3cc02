"""A worker killed mid-solve: the sweeper and a fresh cluster finish the run, exactly once.

Runs real `manage.py qcluster` processes on their own database (a temp SQLite file here; the
integration suite reuses `Deployment` on PostgreSQL with the Redis broker). The solve sleeps
through the test hook WATTSON_TEST_SOLVE_SLEEP_S, so the kill lands mid-solve.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from tests.deployment import TERMINAL, Deployment


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
