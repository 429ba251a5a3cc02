"""The review gate's rules, checked before a decision is recorded (reviews.services.decisions).

Who may decide, on which revision (pinned by number and diff hash), in which state of the
proposal and its finding, with which input; the errors carry an HTTP status and a code so the
page, the API and the CLI map them alike.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from reviews.models import Decision, Finding, Proposal, SolveRun
from reviews.roles import Roles, user_roles
from skills.hashing import diff_sha256

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


class DecisionRefused(DecisionError):
    """The patch failed the safety checks; nothing was applied."""

    status_code = 422
    code = "unsafe_patch"


def proposal_diff_sha256(proposal: Proposal) -> str:
    """The hash a decision pins: the stored one, or computed for rows made without it."""
    return proposal.diff_sha256 or diff_sha256(proposal.diff)


def author_ids(proposal: Proposal) -> set[int]:
    ids = {proposal.requested_by_id, proposal.edited_by_id, proposal.finding.created_by_id}
    if proposal.solve_run is not None:
        ids.add(proposal.solve_run.requested_by_id)
    return {pk for pk in ids if pk is not None}


def check_pins(
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


def not_open_message(proposal: Proposal) -> str:
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


def check_text(**fields: str) -> None:
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


def check_open(proposal: Proposal, verdict: str) -> None:
    """Refuse a revision that is not the current one waiting for a decision, saying why."""
    if not proposal.is_current or proposal.status not in _DECIDABLE_PROPOSAL:
        raise DecisionConflict(not_open_message(proposal))
    if (
        proposal.status == Proposal.Status.CHANGES_REQUESTED
        and verdict == Decision.Verdict.REQUEST_CHANGES
    ):
        raise DecisionConflict(
            f"Changes were already requested on revision {proposal.revision}. Wait for the "
            "revision the solver makes of them, or approve or reject this one now."
        )


def check_finding_open(proposal: Proposal, verdict: str) -> None:
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
FIX_ONLY = (V.APPROVE, V.REJECT)


def check_kind(proposal: Proposal, verdict: str) -> None:
    """An analysis is acknowledged, never approved or rejected as a fix; a fix the other way."""
    if proposal.is_analysis and verdict in FIX_ONLY:
        raise DecisionInvalid(
            f"Revision {proposal.revision} is an analysis without a code change: there is no "
            "fix to approve or reject and no branch to make. Acknowledge it as useful or not "
            "useful, or request changes."
        )
    if not proposal.is_analysis and verdict in ACKNOWLEDGE:
        raise DecisionInvalid(
            f"Revision {proposal.revision} is a fix: approve, reject or request changes on it."
        )


def check_input(*, verdict: str, reason: str, comment: str) -> None:
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


def proposal_reload(proposal: Proposal) -> Proposal:
    return Proposal.objects.select_related(
        "finding",
        "finding__repository",
        "finding__service__repository",
        "solve_run",
        "skill_version",
    ).get(pk=proposal.pk)


def check_actor(actor: Any) -> Roles:
    """Refuse an account that may not decide at all; the actor's roles otherwise."""
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
    return roles


def check_approval(proposal: Proposal, *, actor: Any, roles: Roles, override_reason: str) -> bool:
    """Refuse an approval the rules forbid; whether it overrides a failed validation."""
    if actor.pk in author_ids(proposal):
        raise DecisionForbidden(
            "You filed this finding, or requested or edited this proposal, so another "
            "reviewer must approve it."
        )
    if Decision.objects.filter(
        proposal=proposal, verdict=Decision.Verdict.REJECT, dismissed=False
    ).exists():
        raise DecisionConflict("This proposal was rejected; a rejection cannot be overruled.")
    if proposal.validation_passed:
        return False
    if not roles.skill_admin:
        raise DecisionForbidden(
            "Validation failed for this proposal (the patch did not apply or the tests "
            "failed); only a skill-admin can approve it, with a written override."
        )
    if not override_reason:
        raise DecisionInvalid(
            "Validation failed for this proposal: write an override reason to approve it."
        )
    return True
