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
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from reviews import metrics, patches
from reviews.models import Decision, Finding, Proposal, Repository, SolveRun
from reviews.roles import user_roles
from reviews.selectors.repositories import finding_repository
from reviews.services.audit import audit_record
from reviews.services.comments import request_changes_comment
from reviews.services.fix_delivery import fix_delivery_start
from reviews.services.proposals import proposal_count_decision
from reviews.services.repositories import repository_checkout_path, repository_local_path
from reviews.services.solve_runs import solve_run_cancel
from reviews.services.solving import SolveRefused, solve_request
from reviews.services.transitions import (
    TransitionError,
    finding_transition,
    proposal_transition,
)
from skills.gitio import GitError, is_work_tree
from skills.hashing import diff_sha256
from skills.services import approved_watts, skill_stats_record

log = logging.getLogger(__name__)

CHANGED_SINCE_OPENED = (
    "The proposal changed since you opened it (now revision {revision}, diff {sha}…): "
    "reload the page and review what is there now."
)


class DecisionError(Exception):
    """A decision was refused; the message tells the reviewer why and what to do."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DecisionInvalid(DecisionError):
    status_code = 400
    code = "invalid"


class DecisionForbidden(DecisionError):
    status_code = 403
    code = "forbidden"


class DecisionConflict(DecisionError):
    status_code = 409
    code = "conflict"


class DecisionStale(DecisionConflict):
    code = "stale"


class _LostRace(Exception):
    """The conditional UPDATE found the proposal no longer pending."""


class _FindingMoved(Exception):
    """The finding left a decidable state between the check and the decision's transaction."""


class DecisionRefused(DecisionError):
    """The patch failed the safety checks; nothing was applied."""

    status_code = 422
    code = "unsafe_patch"


def proposal_diff_sha256(proposal: Proposal) -> str:
    """The hash a decision pins: the stored one, or computed for rows made without it."""
    return proposal.diff_sha256 or diff_sha256(proposal.diff)


def fix_branch_name(proposal: Proposal) -> str:
    return f"wattson/{proposal.finding_id}-r{proposal.revision}"


def finding_public_url(finding_id: int) -> str:
    try:
        path = reverse("reviews:finding", args=[finding_id])
    except NoReverseMatch:
        path = f"/findings/{finding_id}/"
    return settings.WATTSON_PUBLIC_URL.rstrip("/") + path


def proposal_message_parts(proposal: Proposal) -> tuple[str, str]:
    """(summary, body) of the fix commit and the downloadable patch."""
    return patches.message_parts(
        rationale=proposal.rationale,
        fallback_summary=f"Fix {proposal.finding.title}" if proposal.finding_id else "",
    )


def proposal_patch_text(proposal: Proposal) -> str:
    """The proposal as a `git format-patch` file; raises PatchRefused for an unsafe diff."""
    patches.check_patch(proposal.diff)
    summary, body = proposal_message_parts(proposal)
    return patches.format_patch(
        diff_text=proposal.diff,
        summary=summary,
        body=body,
        finding_url=finding_public_url(proposal.finding_id),
        date=proposal.created_at or timezone.now(),
        commit_sha=proposal.branch_commit,
    )


def _author_ids(proposal: Proposal) -> set[int]:
    ids = {proposal.requested_by_id, proposal.edited_by_id, proposal.finding.created_by_id}
    if proposal.solve_run is not None:
        ids.add(proposal.solve_run.requested_by_id)
    return {pk for pk in ids if pk is not None}


def _check_pins(
    proposal: Proposal, expected_revision: int | None, expected_diff_sha256: str | None
) -> None:
    current_sha = proposal_diff_sha256(proposal)
    if (expected_revision is not None and int(expected_revision) != proposal.revision) or (
        # A row stored without a hash shows an empty one: that pins the (hashed) diff too.
        expected_diff_sha256 is not None
        and expected_diff_sha256 not in (current_sha, proposal.diff_sha256)
    ):
        raise DecisionConflict(
            CHANGED_SINCE_OPENED.format(revision=proposal.revision, sha=current_sha[:12])
        )


def _not_open_message(proposal: Proposal) -> str:
    if not proposal.is_current:
        current = (
            Proposal.objects.filter(finding_id=proposal.finding_id, is_current=True)
            .values_list("revision", flat=True)
            .first()
        )
        newer = f" (revision {current})" if current else ""
        return (
            f"The proposal changed since you opened it: revision {proposal.revision} was "
            f"replaced by a newer revision{newer}. Review the current one."
        )
    last = (
        Decision.objects.filter(proposal=proposal, dismissed=False)
        .select_related("reviewer")
        .order_by("-created_at", "-id")
        .first()
    )
    who = f" by {last.reviewer.get_username()}" if last else ""
    return (
        f"This proposal was already decided{who}: it is now "
        f"{proposal.get_status_display().lower()}. Nothing was changed."
    )


def _check_text(**fields: str) -> None:
    """A lone surrogate ("\\ud800") cannot be stored or shown: refuse it, naming the field."""
    for name, value in fields.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise DecisionInvalid(
                f"The {name.replace('_', ' ')} is not valid Unicode text (it holds a lone "
                "surrogate such as \\ud800): send UTF-8 text."
            ) from None


# Finding statuses in which its current pending revision waits for a decision: in review, or
# a later re-solve ended without a new revision (the pending one still stands).
_DECIDABLE_FINDING = {Finding.Status.IN_REVIEW, Finding.Status.NO_FIX, Finding.Status.FAILED}
# A current revision in these statuses is decided on: changes were requested, but until a
# validated revision replaces it, it is still the working fix in review.
_DECIDABLE_PROPOSAL = (Proposal.Status.PENDING, Proposal.Status.CHANGES_REQUESTED)


def _check_open(proposal: Proposal, verdict: str) -> None:
    """Refuse a revision that is not the current one waiting for a decision, saying why."""
    if not proposal.is_current or proposal.status not in _DECIDABLE_PROPOSAL:
        raise DecisionConflict(_not_open_message(proposal))
    if (
        proposal.status == Proposal.Status.CHANGES_REQUESTED
        and verdict == Decision.Verdict.REQUEST_CHANGES
    ):
        raise DecisionConflict(
            f"Changes were already requested on revision {proposal.revision}. Wait for the "
            "revision the solver makes of them, or approve or reject this one now."
        )


def _check_finding_open(proposal: Proposal, verdict: str) -> None:
    """Refuse, with a reason, a decision the finding's state would not let stand."""
    finding = Finding.objects.get(pk=proposal.finding_id)
    active = (
        SolveRun.objects.filter(finding_id=finding.pk, status__in=SolveRun.ACTIVE)
        .values_list("pk", "revision")
        .first()
    )
    if active is not None and verdict == Decision.Verdict.REQUEST_CHANGES:
        raise DecisionConflict(
            f"A new solve (run {active[0]}, for revision {active[1]}) is under way for this "
            "finding: wait for the revision it proposes and request changes on that, or "
            f"approve or reject revision {proposal.revision} now (which cancels the solve)."
        )
    if active is not None and finding.status == Finding.Status.SOLVING:
        return  # deciding now cancels the re-solve (_cancel_resolve)
    if finding.status == Finding.Status.CLOSED:
        raise DecisionConflict(
            "The finding was closed, so nothing is waiting for a decision. Request a fix to "
            "reopen it."
        )
    if finding.status not in _DECIDABLE_FINDING:
        raise DecisionConflict(
            f"The finding is {finding.get_status_display().lower()}, not waiting for a "
            "decision on this revision: reload the page to see where it stands."
        )


V = Decision.Verdict
# What an analysis may get instead of approve / reject, and the other way round.
ACKNOWLEDGE = (V.USEFUL, V.NOT_USEFUL)
_FIX_ONLY = (V.APPROVE, V.REJECT)


def _check_kind(proposal: Proposal, verdict: str) -> None:
    """An analysis is acknowledged, never approved or rejected as a fix; a fix the other way."""
    if proposal.is_analysis and verdict in _FIX_ONLY:
        raise DecisionInvalid(
            f"Revision {proposal.revision} is an analysis without a code change: there is no "
            "fix to approve or reject and no branch to make. Acknowledge it as useful or not "
            "useful, or request changes."
        )
    if not proposal.is_analysis and verdict in ACKNOWLEDGE:
        raise DecisionInvalid(
            f"Revision {proposal.revision} is a fix: approve, reject or request changes on it."
        )


def _validate_input(*, verdict: str, reason: str, comment: str) -> None:
    if verdict not in Decision.Verdict.values:
        raise DecisionInvalid(
            f"Unknown verdict {verdict!r}: use approve, reject or request_changes (useful or "
            "not_useful for an analysis)."
        )
    if verdict == Decision.Verdict.REJECT:
        valid = [value for value in Decision.Reason.values if value]
        if reason not in valid:
            raise DecisionInvalid(f"A rejection needs a reason, one of: {', '.join(valid)}.")
        if reason == Decision.Reason.OTHER and not comment.strip():
            raise DecisionInvalid("A rejection for reason 'other' needs a comment saying why.")
    elif reason:
        raise DecisionInvalid("Only a rejection takes a reason.")
    if verdict == Decision.Verdict.REQUEST_CHANGES and not comment.strip():
        raise DecisionInvalid(
            "Requesting changes needs a comment: the solver reads it for the next revision."
        )


def _reload(proposal: Proposal) -> Proposal:
    return Proposal.objects.select_related(
        "finding",
        "finding__repository",
        "finding__service__repository",
        "solve_run",
        "skill_version",
    ).get(pk=proposal.pk)


def proposal_repository(proposal: Proposal) -> Repository | None:
    return finding_repository(proposal.finding)


def _mark_stale(proposal: Proposal, *, actor: Any, reason: str) -> None:
    try:
        proposal_transition(
            proposal,
            Proposal.Status.STALE,
            actor=actor,
            reason=reason,
            expected=Proposal.Status.PENDING,
            extra_fields={"stale_reason": reason},
        )
    except TransitionError:
        # Someone decided it meanwhile; their outcome stands.
        raise DecisionConflict(_not_open_message(_reload(proposal))) from None


def _prepare_fix_commit(proposal: Proposal, *, actor: Any) -> tuple[str, str, str]:
    """Commit the approved patch in a scratch worktree; (commit, branch, head) or a refusal."""
    repository = proposal_repository(proposal)
    try:  # a URL repository: this machine's mirror, fetched when stale (fix_delivery pushes it)
        repo_path = repository_local_path(repository) if repository is not None else ""
    except GitError as exc:
        raise DecisionConflict(f"The repository cannot be read here: {exc}") from None
    if not repo_path or not is_work_tree(repo_path):
        raise DecisionConflict(
            "The finding's repository is not registered or its path is not a git work tree; "
            "register it (manage.py add_repo) before approving."
        )
    summary, body = proposal_message_parts(proposal)
    message = patches.commit_message(
        summary=summary,
        body=body,
        finding_url=finding_public_url(proposal.finding_id),
        reviewer_name=actor.get_full_name() or actor.get_username(),
        reviewer_email=actor.email,
    )
    try:
        commit, head = patches.fix_commit_prepare(
            repo_path=repo_path,
            default_branch=repository.default_branch,
            diff_text=proposal.diff,
            message=message,
        )
    except patches.PatchRefused as exc:
        audit_record(
            actor=actor,
            verb="proposal.patch_refused",
            target=proposal,
            data={"reason": exc.reason},
        )
        raise DecisionRefused(f"The patch was refused by the safety checks: {exc.reason}") from None
    except patches.PatchStale as exc:
        stale_reason = (
            f"{exc} — the default branch moved since this proposal was made. "
            "Request a new fix to re-solve against the current code."
        )
        _mark_stale(proposal, actor=actor, reason=stale_reason)
        raise DecisionStale(f"The proposal is stale: {stale_reason}") from None
    except GitError as exc:
        raise DecisionConflict(f"git failed while preparing the fix branch: {exc}") from None
    log.info("prepared fix commit %s on %s for proposal %s", commit, head, proposal.pk)
    return commit, fix_branch_name(proposal), head


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
    roles = user_roles(actor)
    if not roles.can_act:
        raise DecisionForbidden(
            "Only reviewers and skill-admins can decide on proposals; your role can read only."
        )
    if actor.get_username() == settings.WATTSON_BOT_USERNAME:
        raise DecisionForbidden("The solver's own account can never review its proposals.")
    if roles.ingest and not actor.is_superuser:
        # A detector's token posts findings; were it also a reviewer's, the poster could
        # approve what they filed. Service accounts therefore never decide.
        raise DecisionForbidden(
            "This is an ingest service account: it posts findings and cannot decide on "
            "proposals. Sign in with your own reviewer account."
        )
    _check_text(reason=reason, comment=comment, override_reason=override_reason)
    _validate_input(verdict=verdict, reason=reason, comment=comment)

    proposal = _reload(proposal)
    _check_pins(proposal, expected_revision, expected_diff_sha256)
    _check_kind(proposal, verdict)
    _check_open(proposal, verdict)
    _check_finding_open(proposal, verdict)

    is_override = False
    if verdict == Decision.Verdict.APPROVE:
        if actor.pk in _author_ids(proposal):
            raise DecisionForbidden(
                "You filed this finding, or requested or edited this proposal, so another "
                "reviewer must approve it."
            )
        if Decision.objects.filter(
            proposal=proposal, verdict=Decision.Verdict.REJECT, dismissed=False
        ).exists():
            raise DecisionConflict("This proposal was rejected; a rejection cannot be overruled.")
        if not proposal.validation_passed:
            if not roles.skill_admin:
                raise DecisionForbidden(
                    "Validation failed for this proposal (the patch did not apply or the tests "
                    "failed); only a skill-admin can approve it, with a written override."
                )
            if not override_reason:
                raise DecisionInvalid(
                    "Validation failed for this proposal: write an override reason to approve it."
                )
            is_override = True

    commit = branch = head = ""
    if verdict == Decision.Verdict.APPROVE:
        # Slow git work outside the transaction; the commit is named by a branch only once the
        # decision below has won.
        commit, branch, head = _prepare_fix_commit(proposal, actor=actor)

    new_status = {
        Decision.Verdict.APPROVE: Proposal.Status.APPROVED,
        Decision.Verdict.REJECT: Proposal.Status.REJECTED,
        Decision.Verdict.REQUEST_CHANGES: Proposal.Status.CHANGES_REQUESTED,
        Decision.Verdict.USEFUL: Proposal.Status.ACKNOWLEDGED,
        Decision.Verdict.NOT_USEFUL: Proposal.Status.ACKNOWLEDGED,
    }[verdict]
    branch_created = False
    repository = proposal_repository(proposal)
    old_status = proposal.status
    try:
        with transaction.atomic():
            now = timezone.now()
            extra: dict[str, Any] = {"decided_at": now}
            if branch:
                extra.update(branch_name=branch, branch_commit=commit)
            if verdict != Decision.Verdict.REQUEST_CHANGES:
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
            if verdict in _FIX_ONLY:
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
                is_override=is_override,
                override_reason=override_reason if is_override else "",
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
                    "is_override": is_override,
                    "override_reason": decision.override_reason,
                    "branch": branch,
                    "commit": commit,
                    # The default branch's head the fix was committed on (may be newer than
                    # the proposal's base commit).
                    "head": head,
                },
            )
            metrics.decision_recorded(kind=verdict)
            if proposal.skill_version_id:
                skill_stats_record(
                    skill_version_id=proposal.skill_version_id,
                    verdict=verdict,
                    reason=reason,
                    watts=approved_watts(
                        estimated_watts=proposal.estimated_watts,
                        measured_watts=proposal.measured_watts,
                    ),
                    decision_seconds=(decision.created_at - proposal.created_at).total_seconds(),
                )
            try:
                _move_finding(proposal, verdict=verdict, actor=actor, comment=comment)
            except TransitionError:
                # The finding moved since _check_finding_open (a fix was requested meanwhile).
                raise _FindingMoved from None
            if branch:
                # Last inside the transaction: only the winner names its commit, and a failure
                # here rolls the decision back.
                fix_delivery_start(  # a URL repository's push, queued for after the commit
                    decision=decision,
                    repository=repository,
                    branch=branch,
                    commit=commit,
                    head=head,
                    actor=actor,
                )
                repo_path = repository_checkout_path(repository)
                patches.fix_branch_create(repo_path=repo_path, branch=branch, commit=commit)
                branch_created = True
    except _LostRace:
        raise DecisionConflict(
            "Someone else decided first. " + _not_open_message(_reload(proposal))
        ) from None
    except _FindingMoved:
        _check_finding_open(proposal, verdict)
        raise DecisionConflict(
            "The finding changed while you decided; nothing was recorded. Reload the page."
        ) from None
    except GitError as exc:
        raise DecisionConflict(f"Could not create the fix branch {branch}: {exc}") from None
    except Exception:
        if branch_created:
            patches.fix_branch_delete(
                repo_path=repository_checkout_path(repository), branch=branch, commit=commit
            )
        raise
    return decision


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
