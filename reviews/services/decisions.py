"""The review gate: approve, reject or request changes on one pinned proposal revision.

Rules, after Gerrit and GitHub branch protection (each has a test in tests/reviews/):
- only reviewers and skill-admins decide (superusers hold every role); the solver's account never;
- a decision is pinned to the revision and the sha256 of the exact diff the reviewer saw;
- whoever filed the finding, requested the solve or edited the proposal cannot approve it, and
  ingest service accounts (detectors' tokens) never decide;
- a decision is taken while the finding waits for one (in review, or after a re-solve failed or
  found no fix) and also while a re-solve is under way: the revision in review (pending, or with
  changes requested) stays approvable until a validated revision replaces it, and approving,
  rejecting or acknowledging it cancels the re-solve, whose result is then discarded; requesting
  changes again waits for the re-solve; once the finding is closed a decision is refused with a
  conflict that says why;
- a rejection vetoes; a proposal whose validation failed needs a skill-admin's written override;
- an analysis (no diff) is never approved or rejected as a fix: it is acknowledged as useful or
  not useful, which feeds its skill's statistics and closes the finding;
- decisions are facts: a newer revision never dismisses them, and an approval or rejection stays
  counted in the reports until a newer one replaces it (proposals.proposal_count_decision);
- two reviewers at once: one conditional UPDATE wins, the other gets a conflict;
- approval commits the patch to a new `wattson/<finding>-r<revision>` branch, never the default
  branch; when the patch no longer applies to the current head the proposal becomes STALE.
Every decision and status change writes an AuditEvent, and feeds the skill's statistics.

The rules are checked in reviews.services.decision_checks (which also defines the errors),
the fix commit and its branch are made in reviews.services.fix_commits; this module records
the decision and moves the proposal, the finding and any re-solve.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from reviews import metrics
from reviews.models import Decision, Finding, Proposal
from reviews.services.audit import audit_record
from reviews.services.comments import request_changes_comment
from reviews.services.decision_checks import (
    ACKNOWLEDGE,
    FIX_ONLY,
    DecisionConflict,
    DecisionError,
    DecisionForbidden,
    DecisionInvalid,
    DecisionRefused,
    DecisionStale,
    V,
    check_actor,
    check_approval,
    check_finding_open,
    check_input,
    check_kind,
    check_open,
    check_pins,
    check_text,
    not_open_message,
    proposal_diff_sha256,
    proposal_reload,
)
from reviews.services.fix_commits import (
    FixCommit,
    fix_branch_publish,
    fix_branch_remove,
    fix_commit_prepare,
    proposal_patch_text,
)
from reviews.services.proposals import proposal_count_decision
from reviews.services.solve_runs import solve_run_cancel
from reviews.services.solving import SolveRefused, solve_request
from reviews.services.transitions import TransitionError, finding_transition, proposal_transition
from skills.gitio import GitError
from skills.services import approved_watts, skill_stats_record

# The gate's surface for the page, the API and the CLI: the service and the errors it raises.
__all__ = [
    "ACKNOWLEDGE",
    "DecisionConflict",
    "DecisionError",
    "DecisionForbidden",
    "DecisionInvalid",
    "DecisionRefused",
    "DecisionStale",
    "proposal_decide",
    "proposal_diff_sha256",
    "proposal_patch_text",
]

log = logging.getLogger(__name__)

_NEW_STATUS = {
    V.APPROVE: Proposal.Status.APPROVED,
    V.REJECT: Proposal.Status.REJECTED,
    V.REQUEST_CHANGES: Proposal.Status.CHANGES_REQUESTED,
    V.USEFUL: Proposal.Status.ACKNOWLEDGED,
    V.NOT_USEFUL: Proposal.Status.ACKNOWLEDGED,
}


class _LostRace(Exception):
    """The conditional UPDATE found the proposal no longer pending."""


class _FindingMoved(Exception):
    """The finding left a decidable state between the check and the decision's transaction."""


def proposal_decide(
    *,
    proposal: Proposal,
    actor: Any,
    verdict: str,
    reason: str = "",
    comment: str = "",
    override_reason: str = "",
    expected_diff_sha256: str | None = None,
    expected_revision: int | None = None,
) -> Decision:
    """Record one reviewer's decision on one proposal revision; raises DecisionError subclasses."""
    reason = (reason or "").strip()
    comment = (comment or "").strip()
    override_reason = (override_reason or "").strip()
    roles = check_actor(actor)
    check_text(reason=reason, comment=comment, override_reason=override_reason)
    check_input(verdict=verdict, reason=reason, comment=comment)

    proposal = proposal_reload(proposal)
    check_pins(proposal, expected_revision, expected_diff_sha256)
    check_kind(proposal, verdict)
    check_open(proposal, verdict)
    check_finding_open(proposal, verdict)

    is_override = False
    fix: FixCommit | None = None
    if verdict == V.APPROVE:
        is_override = check_approval(
            proposal, actor=actor, roles=roles, override_reason=override_reason
        )
        # Slow git work outside the transaction; the commit is named by a branch only once the
        # decision below has won.
        fix = fix_commit_prepare(proposal, actor=actor)

    branch_created = False
    try:
        with transaction.atomic():
            decision = _decision_record(
                proposal,
                actor=actor,
                verdict=verdict,
                reason=reason,
                comment=comment,
                override_reason=override_reason if is_override else "",
                fix=fix,
            )
            if fix is not None:
                fix_branch_publish(fix, decision=decision, actor=actor)
                branch_created = True
    except _LostRace:
        raise DecisionConflict(
            "Someone else decided first. " + not_open_message(proposal_reload(proposal))
        ) from None
    except _FindingMoved:
        check_finding_open(proposal, verdict)
        raise DecisionConflict(
            "The finding changed while you decided; nothing was recorded. Reload the page."
        ) from None
    except GitError as exc:
        branch = fix.branch if fix is not None else ""
        raise DecisionConflict(f"Could not create the fix branch {branch}: {exc}") from None
    except Exception:
        if branch_created:
            fix_branch_remove(fix)
        raise
    return decision


def _decision_record(
    proposal: Proposal,
    *,
    actor: Any,
    verdict: str,
    reason: str,
    comment: str,
    override_reason: str,
    fix: FixCommit | None,
) -> Decision:
    """Inside the decision's transaction: move the proposal, write the decision and its audit
    row, feed the statistics and move the finding. Raises _LostRace / _FindingMoved."""
    new_status = _NEW_STATUS[verdict]
    old_status = proposal.status
    extra: dict[str, Any] = {"decided_at": timezone.now()}
    if fix is not None:
        extra.update(branch_name=fix.branch, branch_commit=fix.commit)
    if verdict != V.REQUEST_CHANGES:
        # The run first, then the proposal: the order a finishing worker locks them in.
        _cancel_resolve(proposal, verdict=verdict, actor=actor)
    try:
        proposal_transition(
            proposal,
            new_status,
            actor=actor,
            expected=old_status,
            extra_fields=extra,
            data={"verdict": verdict},
        )
    except TransitionError:
        raise _LostRace from None
    if verdict in FIX_ONLY:
        proposal_count_decision(proposal)
    decision = Decision.objects.create(
        proposal=proposal,
        revision=proposal.revision,
        diff_sha256=proposal_diff_sha256(proposal),
        base_commit=proposal.base_commit,
        reviewer=actor,
        verdict=verdict,
        reason=reason,
        comment=comment,
        is_override=bool(override_reason),
        override_reason=override_reason,
    )
    audit_record(
        actor=actor,
        verb=f"decision.{verdict}",
        target=proposal,
        old_state=old_status,
        new_state=new_status,
        data={
            "decision": decision.pk,
            "revision": proposal.revision,
            "diff_sha256": decision.diff_sha256,
            "reason": reason,
            "comment": comment,
            "is_override": decision.is_override,
            "override_reason": override_reason,
            "branch": fix.branch if fix else "",
            "commit": fix.commit if fix else "",
            # The default branch's head the fix was committed on (may be newer than the
            # proposal's base commit).
            "head": fix.head if fix else "",
        },
    )
    metrics.decision_recorded(kind=verdict)
    _skill_stats_feed(proposal, decision=decision)
    try:
        _move_finding(proposal, verdict=verdict, actor=actor, comment=comment)
    except TransitionError:
        # The finding moved since check_finding_open (a fix was requested meanwhile).
        raise _FindingMoved from None
    return decision


def _skill_stats_feed(proposal: Proposal, *, decision: Decision) -> None:
    """Every decision counts in its skill version's statistics (the next ranking reads them)."""
    if not proposal.skill_version_id:
        return
    skill_stats_record(
        skill_version_id=proposal.skill_version_id,
        verdict=decision.verdict,
        reason=decision.reason,
        watts=approved_watts(
            estimated_watts=proposal.estimated_watts,
            measured_watts=proposal.measured_watts,
        ),
        decision_seconds=(decision.created_at - proposal.created_at).total_seconds(),
        also_version_ids=proposal.composed_version_ids(),
    )


_DECIDED_WORD = {
    V.APPROVE: "approved",
    V.REJECT: "rejected",
    V.USEFUL: "acknowledged as useful",
    V.NOT_USEFUL: "acknowledged as not useful",
}


def _cancel_resolve(proposal: Proposal, *, verdict: str, actor: Any) -> None:
    """A re-solve still running would replace the revision just decided: cancel it."""
    who = actor.get_username()
    reason = (
        f"cancelled: revision {proposal.revision} was {_DECIDED_WORD[verdict]} by {who} while "
        "this re-solve ran, so its result was discarded. Request a fix to solve again."
    )
    run = solve_run_cancel(finding_id=proposal.finding_id, actor=actor, reason=reason)
    if run is not None:
        log.info("decision on proposal %s cancelled solve run %s", proposal.pk, run.pk)


def _move_finding(proposal: Proposal, *, verdict: str, actor: Any, comment: str) -> None:
    finding = Finding.objects.get(pk=proposal.finding_id)
    if verdict == Decision.Verdict.REQUEST_CHANGES:
        # The solver reads the reviewer's comment and the revision's open line comments.
        solver_comment = request_changes_comment(proposal=proposal, comment=comment)
        try:
            solve_request(finding=finding, actor=actor, comment=solver_comment)
        except SolveRefused as exc:
            raise DecisionConflict(f"Changes cannot be requested: {exc.message}") from None
        finding.refresh_from_db(fields=["status"])
        if finding.status == Finding.Status.IN_REVIEW:
            finding_transition(finding, Finding.Status.SOLVING, actor=actor, reason=comment)
        return
    target = {
        V.APPROVE: Finding.Status.FIXED,
        V.REJECT: Finding.Status.REJECTED,
        # An acknowledged analysis leaves nothing to decide; Request fix reopens the finding.
        V.USEFUL: Finding.Status.CLOSED,
        V.NOT_USEFUL: Finding.Status.CLOSED,
    }[verdict]
    if finding.status != target:
        finding_transition(
            finding, target, actor=actor, reason=f"proposal r{proposal.revision} {verdict}"
        )
