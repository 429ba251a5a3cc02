"""The proposal lifecycle: store a new revision, supersede the one before, dismiss stale approvals.

The solve pipeline stores revisions here and the decision gate re-checks dismissals here, so
"a newer revision replaces the older ones" is one rule in one place. Every status move goes
through proposal_transition.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from reviews.models import Decision, Finding, Proposal, SolveRun
from reviews.services.audit import audit_record
from reviews.services.bot import bot_user
from reviews.services.transitions import TransitionError, proposal_transition
from skills.hashing import diff_sha256
from skills.models import SkillVersion
from skills.solver.types import Candidate


def proposal_store_revision(*, run: SolveRun, candidate: Candidate) -> Proposal:
    """Store the run's candidate as the finding's current proposal, revision `run.revision`.

    Idempotent: a revision is stored once, whichever attempt of the run gets here first.
    """
    finding = run.finding
    existing = Proposal.objects.filter(finding=finding, revision=run.revision).first()
    if existing is not None:
        return existing  # an earlier attempt of this revision already stored it
    bot = bot_user()
    for previous in Proposal.objects.filter(finding=finding, is_current=True):
        proposal_supersede(previous, revision=run.revision, actor=bot)
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(**_proposal_fields(run, candidate))
    except IntegrityError:
        # proposal_unique_revision / proposal_one_current_per_finding: a concurrent attempt of
        # this run stored it first. Theirs is the one.
        return Proposal.objects.get(finding=finding, revision=run.revision)
    audit_record(
        actor=bot,
        verb="proposal.create",
        target=proposal,
        new_state=proposal.status,
        data={"run": run.pk, "revision": run.revision, "skill": candidate.skill_slug},
    )
    decisions_dismiss_superseded(finding=finding, revision=run.revision, actor=bot)
    return proposal


def _proposal_fields(run: SolveRun, candidate: Candidate) -> dict[str, Any]:
    validation = candidate.validation
    version_id = candidate.skill_version_id
    if version_id and not SkillVersion.objects.filter(pk=version_id).exists():
        version_id = None
    usage = candidate.usage or {}
    return {
        "finding": run.finding,
        "revision": run.revision,
        "solve_run": run,
        "is_current": True,
        "skill_version_id": version_id,
        "skill_slug": candidate.skill_slug,
        "backend": candidate.backend,
        "model_name": candidate.model_name,
        "is_analysis": candidate.outcome == "analysis",
        "diff": candidate.diff,
        "diff_sha256": diff_sha256(candidate.diff) if candidate.diff else "",
        "base_commit": validation.base_commit if validation else "",
        "rationale": candidate.rationale,
        "risks": candidate.risks,
        "expected_recovery": candidate.expected_recovery,
        "measured_recovery": validation.measured_recovery if validation else None,
        "estimated_watts": candidate.estimated_watts,
        "measured_watts": candidate.measured_watts,
        "applies": bool(validation and validation.applies),
        "apply_log": validation.apply_log if validation else "",
        "tests_passed": validation.tests_passed if validation else None,
        "test_log": validation.test_log if validation else "",
        "bench_before_s": validation.bench_before_s if validation else None,
        "bench_after_s": validation.bench_after_s if validation else None,
        "bench_parent_s": validation.bench_parent_s if validation else None,
        "bench_log": validation.bench_log if validation else "",
        "usage": usage,
        "cost_usd": usage.get("cost_usd"),
        "requested_by": run.requested_by,
    }


def proposal_supersede(proposal: Proposal, *, revision: int, actor: Any | None) -> None:
    """Revision `revision` replaces `proposal`: it stops being current, its status says why."""
    for last_try in (False, True):
        try:
            proposal_transition(
                proposal,
                Proposal.Status.SUPERSEDED,
                actor=actor,
                reason=f"revision {revision} proposed",
                guard={"is_current": True},
                extra_fields={"is_current": False},
            )
            return
        except TransitionError:
            # A reviewer decided it after we read it (move on from the status they left), or
            # a concurrent attempt superseded it already (nothing left to do).
            proposal.refresh_from_db(fields=["status", "is_current"])
            if not proposal.is_current:
                return
            if last_try:
                raise


def decisions_dismiss_superseded(*, finding: Finding, revision: int, actor: Any = None) -> int:
    """A new revision dismisses approvals of earlier ones (GitHub: dismiss stale approvals).

    Called when revision `revision` of the finding is stored, and again by the gate before a
    decision; returns how many were dismissed.
    """
    with transaction.atomic():
        stale = list(
            Decision.objects.select_for_update()
            .filter(
                proposal__finding=finding,
                revision__lt=revision,
                verdict=Decision.Verdict.APPROVE,
                dismissed=False,
            )
            .values_list("pk", "proposal_id", "revision")
        )
        if not stale:
            return 0
        Decision.objects.filter(pk__in=[pk for pk, _, _ in stale]).update(dismissed=True)
        for pk, proposal_id, old_revision in stale:
            audit_record(
                actor=actor,
                verb="decision.dismissed",
                target=Proposal(pk=proposal_id),
                data={"decision": pk, "revision": old_revision, "new_revision": revision},
            )
    return len(stale)
