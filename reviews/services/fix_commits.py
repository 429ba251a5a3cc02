"""The approved fix as git sees it: its commit message, the commit made in a scratch worktree
before the decision, the `wattson/<finding>-r<revision>` branch that names it once the decision
has won (never the default branch), and the downloadable patch.

A patch that no longer applies to the default branch's head marks the proposal stale; one the
safety checks refuse leaves an audit row. Both refuse the approval with a DecisionError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from reviews import patches
from reviews.models import Decision, Proposal, Repository
from reviews.selectors.repositories import finding_repository
from reviews.services.audit import audit_record
from reviews.services.decision_checks import (
    DecisionConflict,
    DecisionRefused,
    DecisionStale,
    not_open_message,
    proposal_reload,
)
from reviews.services.fix_delivery import fix_delivery_start
from reviews.services.repositories import repository_checkout_path, repository_local_path
from reviews.services.transitions import TransitionError, proposal_transition
from skills.gitio import GitError, is_work_tree
from skills.worktrees import lock_wait_limit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FixCommit:
    """An approved patch committed on the default branch's head, not yet named by a branch."""

    repository: Repository
    branch: str
    commit: str
    head: str  # the default branch's head it was committed on (may be newer than the base)


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
        raise DecisionConflict(not_open_message(proposal_reload(proposal))) from None


def fix_commit_prepare(proposal: Proposal, *, actor: Any) -> FixCommit:
    """Commit the approved patch in a scratch worktree, named by no branch yet, or refuse.

    A person is waiting: the repository's lock is waited for WATTSON_PAGE_GIT_TIMEOUT_S at most
    (a worker's fetch may hold it for minutes), then the approval says the repository is busy.
    """
    with lock_wait_limit(settings.WATTSON_PAGE_GIT_TIMEOUT_S):
        return _fix_commit_prepare(proposal, actor=actor)


def _fix_commit_prepare(proposal: Proposal, *, actor: Any) -> FixCommit:
    repository = finding_repository(proposal.finding)
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
    return FixCommit(
        repository=repository, branch=fix_branch_name(proposal), commit=commit, head=head
    )


def fix_branch_publish(fix: FixCommit, *, decision: Decision, actor: Any) -> None:
    """Name the commit by its fix branch, and queue a URL repository's push for after commit.

    Called last inside the decision's transaction: only the winning decision names its commit,
    and a failure here rolls the decision back.
    """
    fix_delivery_start(
        decision=decision,
        repository=fix.repository,
        branch=fix.branch,
        commit=fix.commit,
        head=fix.head,
        actor=actor,
    )
    repo_path = repository_checkout_path(fix.repository)
    patches.fix_branch_create(repo_path=repo_path, branch=fix.branch, commit=fix.commit)


def fix_branch_remove(fix: FixCommit) -> None:
    """Undo fix_branch_publish's branch when the decision's transaction did not commit."""
    patches.fix_branch_delete(
        repo_path=repository_checkout_path(fix.repository), branch=fix.branch, commit=fix.commit
    )
