"""A worker whose database connection the server cut (pg_terminate_backend, a restart) still
finishes the run it is solving: the proposal is stored and the run is terminal at once, not left
"running" until the sweeper finds it past its deadline.

PostgreSQL only: the cut is the server ending the worker's backend, as bench/soak.py does.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError, connection

from reviews.models import Finding, Proposal, SolveRun
from reviews.services import solving
from reviews.tasks import solve_run_task
from skills import codemods
from skills.codemods import CodemodInput, CodemodResult
from tests.reviews.test_solving import enqueued, fake_memoize, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
R = SolveRun.Status


def cut_this_connection() -> None:
    """End this process's backend from another session, as an operator (or a restart) would;
    returns once the backend is gone."""
    pid = connection.cursor().connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        (ended,) = admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid]).fetchone()
    assert ended, f"backend {pid} was not terminated"


@pytest.fixture
def cut_connection(transactional_db):
    """Autocommit as a worker has it (no test transaction around the solve); the test's own
    connection is opened afresh afterwards, so teardown never meets the dead one."""
    yield cut_this_connection
    connection.close()


def _assert_solved(run_id: int, finding: Finding) -> SolveRun:
    run = SolveRun.objects.get(pk=run_id)
    assert run.status == R.SUCCEEDED and run.attempts == 1, (run.status, run.error)
    assert Proposal.objects.filter(finding=finding, is_current=True).count() == 1
    finding.refresh_from_db()
    assert finding.status == Finding.Status.IN_REVIEW
    return run


def test_a_cut_mid_solve_still_ends_in_a_proposal(world, enqueued, cut_connection, monkeypatch):  # noqa: F811
    def memoize_then_cut(data: CodemodInput) -> CodemodResult:
        cut_connection()  # the solver is working; its next progress write meets a dead backend
        return fake_memoize(data)

    monkeypatch.setitem(codemods.REGISTRY, "cutting", memoize_then_cut)
    world["add_skill"]("memoize", "cutting")
    run = solving.solve_request(finding=world["finding"], actor=None)

    assert solve_run_task(run.pk) == R.SUCCEEDED
    run = _assert_solved(run.pk, world["finding"])
    # The live trace went on after the cut: the validation steps came after the codemod.
    tools = [step["tool"] for step in run.trace]
    assert tools.index("validate") > tools.index("codemod")


def test_a_cut_just_before_the_finish_still_stores_the_result(
    world,  # noqa: F811
    enqueued,  # noqa: F811
    cut_connection,
    monkeypatch,
):
    world["add_skill"]("memoize", "fake-memoize")
    store = solving.solve_run_store
    cuts: list[int] = []

    def cut_then_store(*args, **kwargs):
        if not cuts:  # the solver is done, no progress write follows: the store meets the cut
            cuts.append(1)
            cut_connection()
        return store(*args, **kwargs)

    monkeypatch.setattr(solving, "solve_run_store", cut_then_store)
    run = solving.solve_request(finding=world["finding"], actor=None)

    assert solve_run_task(run.pk) == R.SUCCEEDED
    assert cuts == [1]
    _assert_solved(run.pk, world["finding"])


def test_an_error_on_a_live_connection_is_not_retried(transactional_db):
    calls: list[int] = []

    def slow_query():
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 10")
            try:
                cursor.execute("SELECT pg_sleep(5)")
            finally:
                cursor.execute("RESET statement_timeout")

    # An OperationalError on a connection that still works (a statement or lock timeout) is
    # the caller's: it is raised, not repeated.
    with pytest.raises(OperationalError, match="statement timeout"):
        solving._reconnecting(slow_query)
    assert calls == [1]
