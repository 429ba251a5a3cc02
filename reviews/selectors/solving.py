"""Reads for the solve panel: the latest run of a finding the caller may already read."""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from reviews.models import Finding, Proposal, SolveRun

# What the panel shows while the solver works, newest first, capped.
MAX_STEPS = 8


def solve_status(*, finding: Finding) -> dict[str, Any]:
    """{"finding", "finding_status", "active", "run": {...} | None, "proposal": {...} | None}."""
    run = finding.solve_runs.order_by("-queued_at", "-id").first()
    finding.refresh_from_db(fields=["status"])
    data: dict[str, Any] = {
        "finding": finding.pk,
        "finding_status": finding.status,
        "finding_status_label": finding.get_status_display(),
        "active": bool(run and run.is_active),
        "run": None,
        "proposal": None,
    }
    if run is not None:
        data["run"] = _run_data(run)
    proposal = (
        Proposal.objects.filter(finding=finding, is_current=True)
        .only("pk", "revision", "status", "skill_slug", "is_analysis")
        .first()
    )
    if proposal is not None:
        try:
            url = proposal.get_absolute_url()
        except NoReverseMatch:
            url = ""
        data["proposal"] = {
            "id": proposal.pk,
            "revision": proposal.revision,
            "status": proposal.status,
            "skill": proposal.skill_slug,
            "is_analysis": proposal.is_analysis,
            "url": url,
        }
    return data


def finding_active_run(*, finding_id: int) -> SolveRun | None:
    """The finding's queued or running solve, if any (the caller may read the finding)."""
    return SolveRun.objects.filter(finding_id=finding_id, status__in=SolveRun.ACTIVE).first()


def _run_data(run: SolveRun) -> dict[str, Any]:
    steps = [
        {
            "tool": str(step.get("tool", "")),
            "summary": str(step.get("summary", ""))[:200],
            "error": bool(step.get("error")),
        }
        for step in (run.trace or [])[-MAX_STEPS:]
        if isinstance(step, dict)
    ]
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "backend": run.backend,
        "backend_note": run.backend_note,
        "revision": run.revision,
        "attempts": run.attempts,
        "queued_at": run.queued_at.isoformat() if run.queued_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "refusals": [
            {"skill": str(r.get("skill", "")), "reason": str(r.get("reason", ""))[:500]}
            for r in (run.refusals or [])
            if isinstance(r, dict)
        ],
        "steps": steps,
        "status_url": reverse("reviews:solve-status", args=[run.finding_id]),
    }
