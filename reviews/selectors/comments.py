"""Reads of line-comment threads: a revision's threads with their counts, one thread, authorised.

Any Wattson role reads threads; only reviewers and skill-admins may write (can_comment tells
the page which forms to show; reviews.services.comments checks again on every write).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404

from reviews.diffs.anchors import diff_paths
from reviews.models import Proposal, ReviewComment, ReviewThread
from reviews.roles import user_roles


def _require_reader(user) -> None:
    if not user_roles(user).can_read:
        raise PermissionDenied("Your account has no Wattson role that allows reading comments.")


def _with_comments(queryset):
    return queryset.select_related("author", "resolved_by", "origin_proposal").prefetch_related(
        Prefetch("comments", queryset=ReviewComment.objects.select_related("author"))
    )


@dataclass
class ProposalThreads:
    threads: list[ReviewThread]
    # Threads started on this revision that moved on to a later one when it was stored.
    carried: list[ReviewThread] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # Reply, resolve, re-open: reviewers and skill-admins. Start a thread: also only on the
    # current revision of a fix (a thread on an older one could never carry over).
    can_write: bool = False
    can_comment: bool = False

    @property
    def open_count(self) -> int:
        return sum(1 for thread in self.threads if thread.is_open)

    @property
    def resolved_count(self) -> int:
        return len(self.threads) - self.open_count

    @property
    def outdated_count(self) -> int:
        return sum(1 for thread in self.threads if thread.is_outdated)


def proposal_threads(*, user, proposal: Proposal) -> ProposalThreads:
    """The threads anchored to this revision, open first; 403 for users without a role."""
    _require_reader(user)
    threads = sorted(
        _with_comments(ReviewThread.objects.filter(proposal=proposal)),
        key=lambda t: (not t.is_open, t.is_outdated, t.path, t.side, t.start_line, t.pk),
    )
    for thread in threads:
        # Each comment shows whether it was written on another revision than this one: the
        # thread's proposal is this one, not a query per thread.
        thread.proposal = proposal
    carried = list(
        ReviewThread.objects.filter(origin_proposal=proposal)
        .exclude(proposal=proposal)
        .select_related("proposal")
        .order_by("path", "start_line", "pk")
    )
    can_write = user_roles(user).can_act
    can_comment = can_write and proposal.is_current and bool(proposal.diff.strip())
    return ProposalThreads(
        threads=threads,
        carried=carried,
        # For the form that works without JavaScript; only those who may comment see it.
        files=list(_diff_paths(proposal.diff)) if can_comment else [],
        can_write=can_write,
        can_comment=can_comment,
    )


@lru_cache(maxsize=16)
def _diff_paths(diff_text: str) -> tuple[str, ...]:
    """diff_paths, kept per process for the last few diffs: parsing a 2,000-line diff on every
    view of its page cost more than the rest of the threads' work (the diff is the key)."""
    return tuple(diff_paths(diff_text))


def thread_get_for_user(*, user, thread_id: int) -> ReviewThread:
    """One thread with its comments; 403 for users without a role, 404 when there is none."""
    _require_reader(user)
    thread = _with_comments(ReviewThread.objects.filter(pk=thread_id)).first()
    if thread is None:
        raise Http404("No such comment thread.")
    return thread
