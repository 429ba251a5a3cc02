"""Line comments: start a thread on lines of a revision's diff, reply, resolve, re-open; carry open
threads to the next revision; gather them for the solver when changes are requested.

Every write checks its actor's role itself (reviewers and skill-admins comment; managers read)
and writes an audit row. Comment text is the reviewer's own plain text: stored as written,
escaped wherever it is shown.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reviews.diffs.anchors import anchored_text, context_before, relocate, side_lines
from reviews.models import Proposal, ReviewComment, ReviewThread
from reviews.roles import user_roles
from reviews.services.audit import audit_record
from reviews.services.transitions import TransitionError, thread_transition

TEXT_MAX_CHARS = 10_000
# A range longer than this is a comment on the file, not on lines.
RANGE_MAX_LINES = 500
# Lines of anchored code quoted to the solver per thread.
SOLVER_CODE_LINES = 5


class CommentError(Exception):
    """A comment write was refused; the message says why. Status and code map to the API."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CommentInvalid(CommentError):
    pass


class CommentForbidden(CommentError):
    status_code = 403
    code = "forbidden"


class CommentConflict(CommentError):
    status_code = 409
    code = "conflict"


def _check_actor(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise CommentForbidden("Sign in to comment.")
    if not user_roles(actor).can_act:
        raise CommentForbidden(
            "Only reviewers and skill-admins comment on proposals; managers read."
        )
    if actor.get_username() == settings.WATTSON_BOT_USERNAME:
        raise CommentForbidden("The solver's own account does not review its proposals.")


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise CommentInvalid("Write a comment first: it is empty.")
    if len(text) > TEXT_MAX_CHARS:
        raise CommentInvalid(f"A comment holds at most {TEXT_MAX_CHARS:,} characters.")
    if "\x00" in text:
        raise CommentInvalid("The comment holds a NUL character: send plain text.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CommentInvalid(
            "The comment is not valid Unicode text (it holds a lone surrogate): send UTF-8 text."
        ) from None
    return text


def _check_range(side: str, start_line: int, end_line: int) -> None:
    if side not in ReviewThread.Side.values:
        raise CommentInvalid("The side must be 'old' (the base file) or 'new' (the fixed file).")
    if start_line < 1 or end_line < start_line:
        raise CommentInvalid("Lines are numbered from 1, and a range ends at or after its start.")
    if end_line - start_line >= RANGE_MAX_LINES:
        raise CommentInvalid(f"A comment spans at most {RANGE_MAX_LINES} lines.")


def thread_create(
    *,
    proposal: Proposal,
    actor: Any,
    path: str,
    side: str,
    start_line: int,
    end_line: int | None = None,
    text: str,
) -> ReviewThread:
    """Start a thread on lines start..end of one side of one file of the current revision."""
    _check_actor(actor)
    text = _clean_text(text)
    end_line = start_line if end_line is None else end_line
    _check_range(side, start_line, end_line)
    proposal.refresh_from_db(fields=["is_current", "revision", "diff"])
    if not proposal.is_current:
        raise CommentConflict(
            f"Revision {proposal.revision} is no longer current: comment on the current revision."
        )
    lines = side_lines(proposal.diff, path, side)
    texts = anchored_text(lines, start_line, end_line)
    if texts is None:
        where = f"{path}:{start_line}" + (f"-{end_line}" if end_line != start_line else "")
        raise CommentInvalid(
            f"{where} ({side} side) is not shown in this diff: comment on lines the diff shows."
        )
    with transaction.atomic():
        thread = ReviewThread.objects.create(
            proposal=proposal,
            origin_proposal=proposal,
            path=path,
            side=side,
            start_line=start_line,
            end_line=end_line,
            line_text="\n".join(texts),
            context=context_before(lines, start_line, end_line),
            author=actor,
        )
        ReviewComment.objects.create(
            thread=thread, author=actor, text=text, revision=proposal.revision
        )
        audit_record(
            actor=actor,
            verb="thread.create",
            target=thread,
            new_state=thread.status,
            data={"proposal": proposal.pk, "revision": proposal.revision, "at": thread.location},
        )
    return thread


def thread_reply(*, thread: ReviewThread, actor: Any, text: str) -> ReviewComment:
    """Add a reply; a resolved thread takes replies too and stays resolved (as on GitHub)."""
    _check_actor(actor)
    text = _clean_text(text)
    revision = Proposal.objects.values_list("revision", flat=True).get(pk=thread.proposal_id)
    with transaction.atomic():
        comment = ReviewComment.objects.create(
            thread=thread, author=actor, text=text, revision=revision
        )
        audit_record(
            actor=actor,
            verb="thread.reply",
            target=thread,
            data={"comment": comment.pk, "revision": revision},
        )
    return comment


def thread_resolve(*, thread: ReviewThread, actor: Any) -> None:
    _check_actor(actor)
    _move(thread, ReviewThread.Status.RESOLVED, actor, resolved_by=actor, when=timezone.now())


def thread_reopen(*, thread: ReviewThread, actor: Any) -> None:
    _check_actor(actor)
    _move(thread, ReviewThread.Status.OPEN, actor, resolved_by=None, when=None)


def _move(thread: ReviewThread, new: str, actor: Any, *, resolved_by: Any, when) -> None:
    try:
        thread_transition(
            thread,
            new,
            actor=actor,
            extra_fields={"resolved_by": resolved_by, "resolved_at": when},
            data={"at": thread.location},
        )
    except TransitionError:
        thread.refresh_from_db(fields=["status"])
        raise CommentConflict(
            f"This thread is already {thread.get_status_display().lower()}: nothing changed."
        ) from None


def comments_carry_over(*, new: Proposal, actor: Any = None) -> dict[str, int]:
    """Move the finding's open threads from earlier revisions to revision `new`: re-anchored
    where their lines' text is in the new diff (same file and side, nearest to where it was),
    else marked outdated. Called once, when a revision is stored (reviews.services.proposals).

    Resolved threads stay on the revision they were resolved on. Returns the counts.
    """
    counts = {"reanchored": 0, "outdated": 0}
    open_threads = ReviewThread.objects.filter(
        proposal__finding_id=new.finding_id,
        proposal__revision__lt=new.revision,
        status=ReviewThread.Status.OPEN,
    ).select_related("proposal")
    lines_by_file: dict[tuple[str, str], dict[int, str]] = {}
    for thread in open_threads:
        key = (thread.path, thread.side)
        if key not in lines_by_file:
            lines_by_file[key] = side_lines(new.diff, thread.path, thread.side)
        texts = thread.line_text.split("\n")
        start = relocate(lines_by_file[key], texts, near=thread.start_line)
        was, from_revision = thread.location, thread.proposal.revision
        fields: dict[str, Any] = {"proposal": new, "is_outdated": start is None}
        if start is not None:
            fields.update(start_line=start, end_line=start + len(texts) - 1)
        with transaction.atomic():
            ReviewThread.objects.filter(pk=thread.pk).update(**fields)
            for name, value in fields.items():
                setattr(thread, name, value)
            audit_record(
                actor=actor,
                verb="thread.carry_over",
                target=thread,
                data={
                    "from_revision": from_revision,
                    "to_revision": new.revision,
                    "was": was,
                    "now": "" if start is None else thread.location,
                    "outdated": start is None,
                },
            )
        counts["outdated" if start is None else "reanchored"] += 1
    return counts


def comments_for_solver(*, proposal: Proposal) -> str:
    """The open threads of a revision as plain text for the solver: file:line, then each comment."""
    threads = (
        ReviewThread.objects.filter(proposal=proposal, status=ReviewThread.Status.OPEN)
        .prefetch_related("comments__author")
        .order_by("path", "side", "start_line", "id")
    )
    blocks = []
    for thread in threads:
        side = "" if thread.side == ReviewThread.Side.NEW else " (old side)"
        outdated = " (outdated: the code it was on has changed)" if thread.is_outdated else ""
        lines = [f"- {thread.location}{side}{outdated}:"]
        # The code the thread is on, so the solver need not count lines to find it.
        lines += [f"    | {code}" for code in thread.line_text.split("\n")[:SOLVER_CODE_LINES]]
        lines += [
            f"    {comment.author.get_username()}: {comment.text}"
            for comment in thread.comments.all()
        ]
        blocks.append("\n".join(lines))
    if not blocks:
        return ""
    return f"Open line comments ({len(blocks)}):\n" + "\n".join(blocks)


def request_changes_comment(*, proposal: Proposal, comment: str) -> str:
    """What the solver reads when changes are requested: the reviewer's comment, then the open
    line comments of the revision (the gate still requires the comment itself)."""
    gathered = comments_for_solver(proposal=proposal)
    return f"{comment}\n\n{gathered}" if gathered else comment
