"""Line comments on the proposal page: start a thread, reply, resolve, re-open (POST forms).

Each view parses its form, calls one reviews.services.comments write and goes back to the
proposal page at the thread; the page works without JavaScript, and static/diff.js only moves
the same forms next to the lines they are about.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from reviews.models import Proposal, ReviewThread
from reviews.roles import role_required
from reviews.selectors.comments import thread_get_for_user
from reviews.selectors.proposals import proposal_get_for_user
from reviews.services.comments import (
    CommentError,
    CommentForbidden,
    CommentInvalid,
    thread_create,
    thread_reopen,
    thread_reply,
    thread_resolve,
)


def _page(proposal_id: int, anchor: str) -> HttpResponse:
    url = Proposal(pk=proposal_id).get_absolute_url()
    return redirect(f"{url}#{anchor}")


def _line(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise CommentInvalid(f"The {name} must be a line number.") from None


def _act(request: HttpRequest, proposal_id: int, anchor: str, write) -> HttpResponse:
    """Run one write; a refusal becomes a message on the page (403 stays a 403)."""
    try:
        result = write()
    except CommentForbidden as exc:
        raise PermissionDenied(exc.message) from None
    except CommentError as exc:
        messages.error(request, exc.message)
        return _page(proposal_id, "comments")
    return _page(proposal_id, result if isinstance(result, str) else anchor)


@require_POST
@role_required("can_act")
def thread_new(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_get_for_user(user=request.user, proposal_id=pk)

    def write() -> str:
        end = request.POST.get("end_line") or request.POST.get("start_line")
        thread = thread_create(
            proposal=proposal,
            actor=request.user,
            path=request.POST.get("path", ""),
            side=request.POST.get("side", ReviewThread.Side.NEW),
            start_line=_line(request.POST.get("start_line"), "start line"),
            end_line=_line(end, "end line"),
            text=request.POST.get("text", ""),
        )
        messages.success(request, f"Comment added on {thread.location}.")
        return f"thread-{thread.pk}"

    return _act(request, proposal.pk, "comments", write)


@require_POST
@role_required("can_act")
def thread_reply_view(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = thread_get_for_user(user=request.user, thread_id=thread_id)
    return _act(
        request,
        thread.proposal_id,
        f"thread-{thread.pk}",
        lambda: thread_reply(thread=thread, actor=request.user, text=request.POST.get("text", "")),
    )


@require_POST
@role_required("can_act")
def thread_resolve_view(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = thread_get_for_user(user=request.user, thread_id=thread_id)
    return _act(
        request,
        thread.proposal_id,
        f"thread-{thread.pk}",
        lambda: thread_resolve(thread=thread, actor=request.user),
    )


@require_POST
@role_required("can_act")
def thread_reopen_view(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = thread_get_for_user(user=request.user, thread_id=thread_id)
    return _act(
        request,
        thread.proposal_id,
        f"thread-{thread.pk}",
        lambda: thread_reopen(thread=thread, actor=request.user),
    )


urlpatterns = [
    path("proposals/<int:pk>/threads/", thread_new, name="thread_new"),
    path("threads/<int:thread_id>/reply/", thread_reply_view, name="thread_reply"),
    path("threads/<int:thread_id>/resolve/", thread_resolve_view, name="thread_resolve"),
    path("threads/<int:thread_id>/reopen/", thread_reopen_view, name="thread_reopen"),
]
