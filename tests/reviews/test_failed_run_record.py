"""A failed or no-fix solve made no proposal page: the finding page shows why, escaped."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.html import escape

from reviews.models import Finding, Service, SolveRun

SCRIPT = "<script>alert('pwned')</script>"


@pytest.fixture
def finding(db) -> Finding:
    service = Service.objects.create(name="feed", team="catalog")
    return Finding.objects.create(
        service=service,
        kind=Finding.Kind.REGRESSION,
        source="perf-detector",
        external_id="det-1",
        payload_sha256="0" * 64,
        title="parse_sku got slower",
        metric="cpu",
        magnitude_pct=4.5,
        status=Finding.Status.FAILED,
    )


def failed_llm_run(finding: Finding) -> SolveRun:
    return SolveRun.objects.create(
        finding=finding,
        status=SolveRun.Status.FAILED,
        backend="anthropic",
        model_name="claude-test",
        attempts=1,
        error="the model's diff was refused twice: git apply --check failed",
        trace=[
            {"tool": "attempt", "summary": "attempt 1 started", "arguments": {"attempt": 1}},
            {
                "tool": "get_function",
                "arguments": {"symbol": "feed.skus.parse_sku"},
                "summary": f"def parse_sku(raw): # {SCRIPT}",
                "duration_ms": 3.2,
                "error": "",
            },
            {
                "tool": "propose_fix",
                "arguments": {"skill": "precompile-regex", "diff_lines": 9},
                "summary": "refused",
                "duration_ms": 12.0,
                "error": "git apply --check failed: patch does not apply",
            },
        ],
        refusals=[{"skill": "memoize", "reason": f"not applicable: {SCRIPT}"}],
        transcript=[
            {"role": "system", "content": "You are Wattson's solver."},
            {"role": "user", "content": f"<untrusted_data>{SCRIPT}</untrusted_data>"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"I will write {SCRIPT} into the page"},
                    {"type": "tool_use", "id": "t1", "name": "propose_fix", "input": {"x": 1}},
                ],
            },
        ],
        usage={"model_calls": 2, "cost_usd": 0.01},
    )


def test_a_failed_runs_trace_refusals_and_transcript_are_shown_and_escaped(
    finding, reviewer, client_for
):
    run = failed_llm_run(finding)

    response = client_for(reviewer).get(finding.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    start = html.index(f'id="run-{run.pk}-record"')
    record = html[start : html.index("</section>", start)]
    assert f'<details class="run-record trace" id="run-{run.pk}-record">' in html
    assert record.count("<details") == 4  # inside the record: each step, the transcript
    assert f"Why run #{run.pk} failed: 3 steps, 1 refusal, model transcript" in record
    assert '<code class="tname">get_function</code>' in record
    assert "git apply --check failed: patch does not apply" in record
    assert "<code>memoize</code>" in record
    assert "Model transcript (3 messages, claude-test)" in record
    assert "tool call: propose_fix" in record
    # Model and repository text is text: the page never carries the script as markup.
    assert SCRIPT not in html
    assert escape(f"I will write {SCRIPT} into the page") in record
    assert escape(f"<untrusted_data>{SCRIPT}</untrusted_data>") in record
    assert escape(f"not applicable: {SCRIPT}") in record


def test_a_no_fix_runs_record_is_shown_to_a_manager_too(finding, manager, client_for):
    run = SolveRun.objects.create(
        finding=finding,
        status=SolveRun.Status.NO_FIX,
        backend="offline",
        attempts=1,
        error="no skill produced a change that passes validation",
        trace=[{"tool": "rank_skills", "summary": "precompile-regex (0.50)"}],
        refusals=[{"skill": "precompile-regex", "reason": "the tests fail with the change"}],
    )

    html = client_for(manager).get(finding.get_absolute_url()).content.decode()

    assert f"Why run #{run.pk} found no fix: 1 step, 1 refusal</summary>" in html
    assert "the tests fail with the change" in html
    assert "Model transcript" not in html  # offline: no conversation to show


def test_succeeded_and_active_runs_get_no_record_here(finding, reviewer, client_for):
    done = SolveRun.objects.create(
        finding=finding,
        status=SolveRun.Status.SUCCEEDED,
        trace=[{"tool": "rank_skills", "summary": "x"}],
    )
    queued = SolveRun.objects.create(finding=finding, status=SolveRun.Status.QUEUED, revision=2)

    html = client_for(reviewer).get(finding.get_absolute_url()).content.decode()

    # A succeeded run's record is on its proposal page; an active one is followed live.
    assert f'id="run-{done.pk}-record"' not in html
    assert f'id="run-{queued.pk}-record"' not in html


def test_outsiders_and_anonymous_users_see_no_record(finding, outsider, client_for):
    failed_llm_run(finding)

    assert client_for(outsider).get(finding.get_absolute_url()).status_code == 403
    anonymous = Client().get(finding.get_absolute_url())
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
