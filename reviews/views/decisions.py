"""The review gate's pages: approve / reject / request changes (POST), the patch, "My reviews".

Views are thin: parse the form, call reviews.services.decisions.proposal_decide (the same service
the API and `manage.py decide` use), and say what happened.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_POST, require_safe

from reviews.models import Decision, Proposal
from reviews.patches import PatchRefused
from reviews.roles import role_required
from reviews.selectors.decisions import TABS, pending_reviews
from reviews.selectors.proposals import proposal_get_for_user
from reviews.services.decisions import (
    DecisionError,
    DecisionForbidden,
    proposal_decide,
    proposal_patch_text,
)

SUCCESS = {
    Decision.Verdict.APPROVE: "Approved revision {revision}.",
    Decision.Verdict.REJECT: "Rejected revision {revision}.",
    Decision.Verdict.REQUEST_CHANGES: (
        "Changes requested on revision {revision}: the solver is preparing revision {next}."
    ),
    Decision.Verdict.USEFUL: "Acknowledged analysis revision {revision} as useful.",
    Decision.Verdict.NOT_USEFUL: "Acknowledged analysis revision {revision} as not useful.",
}
ACKNOWLEDGE_VERDICTS = (Decision.Verdict.USEFUL, Decision.Verdict.NOT_USEFUL)


def _proposal_page(proposal: Proposal) -> str:
    try:
        return proposal.get_absolute_url()
    except NoReverseMatch:
        return reverse("reviews:my_reviews")


def _form_page(request: HttpRequest, pk: int) -> str:
    """Where a decision form is: the proposal page (its URL needs no read of the proposal)."""
    return reverse("reviews:proposal", args=[pk])


def _pins(request: HttpRequest, proposal: Proposal) -> tuple[int, str | None]:
    """The revision and diff hash the form showed; both required, so a decision is pinned."""
    raw_revision = request.POST.get("revision", "")
    if "diff_sha256" not in request.POST or not raw_revision.isdigit():
        raise ValueError("the form must post the revision and diff_sha256 it showed")
    return int(raw_revision), request.POST["diff_sha256"].strip()


def _decide(request: HttpRequest, pk: int, verdict: str) -> HttpResponse:
    proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
    try:
        revision, sha = _pins(request, proposal)
    except ValueError as exc:
        return HttpResponseBadRequest(f"Bad request: {exc}.", content_type="text/plain")
    try:
        decision = proposal_decide(
            proposal=proposal,
            actor=request.user,
            verdict=verdict,
            reason=request.POST.get("reason", ""),
            comment=request.POST.get("comment", ""),
            override_reason=request.POST.get("override_reason", ""),
            expected_diff_sha256=sha,
            expected_revision=revision,
        )
    except DecisionForbidden as exc:
        raise PermissionDenied(exc.message) from None
    except DecisionError as exc:
        messages.error(request, exc.message)
        return redirect(_proposal_page(proposal), permanent=False)
    text = SUCCESS[verdict].format(revision=decision.revision, next=decision.revision + 1)
    proposal.refresh_from_db(fields=["branch_name"])
    if proposal.branch_name:
        text += f" The fix is on branch {proposal.branch_name}; the default branch is untouched."
    messages.success(request, text)
    return redirect(_proposal_page(proposal), permanent=False)


@require_POST
@role_required("can_act", after_login=_form_page)
def proposal_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, Decision.Verdict.APPROVE)


@require_POST
@role_required("can_act", after_login=_form_page)
def proposal_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, Decision.Verdict.REJECT)


@require_POST
@role_required("can_act", after_login=_form_page)
def proposal_request_changes(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, Decision.Verdict.REQUEST_CHANGES)


@require_POST
@role_required("can_act", after_login=_form_page)
def proposal_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """An analysis read: useful or not useful (never an approval; no branch)."""
    verdict = request.POST.get("verdict", "")
    if verdict not in ACKNOWLEDGE_VERDICTS:
        return HttpResponseBadRequest(
            "Bad request: verdict must be useful or not_useful.", content_type="text/plain"
        )
    return _decide(request, pk, verdict)


@require_safe
@role_required("can_read")
def proposal_patch(request: HttpRequest, pk: int) -> HttpResponse:
    """The proposal as a `git format-patch` file (apply with `git am`)."""
    proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
    if not proposal.diff:
        return HttpResponse(
            "This proposal is an analysis without a diff; there is no patch to download.",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    try:
        text = proposal_patch_text(proposal)
    except PatchRefused as exc:
        return HttpResponse(
            f"This patch was refused by the safety checks: {exc.reason}",
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(text, content_type="text/x-patch; charset=utf-8")
    filename = f"wattson-{proposal.finding_id}-r{proposal.revision}.patch"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
@role_required("can_read")
def my_reviews(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "mine")
    if tab not in TABS:
        tab = "mine"
    queryset = pending_reviews(user=request.user, tab=tab)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    counts = {name: pending_reviews(user=request.user, tab=name).count() for name in TABS}
    return render(
        request,
        "reviews/my_reviews.html",
        {"page": page, "proposals": page.object_list, "tab": tab, "counts": counts},
    )


urlpatterns = [
    path("proposals/<int:pk>/approve/", proposal_approve, name="proposal_approve"),
    path("proposals/<int:pk>/reject/", proposal_reject, name="proposal_reject"),
    path(
        "proposals/<int:pk>/request-changes/",
        proposal_request_changes,
        name="proposal_request_changes",
    ),
    path("proposals/<int:pk>/acknowledge/", proposal_acknowledge, name="proposal_acknowledge"),
    path("proposals/<int:pk>/patch/", proposal_patch, name="proposal_patch"),
    path("my-reviews/", my_reviews, name="my_reviews"),
]
