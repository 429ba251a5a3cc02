"""A fix's pull request on the proposal page: ask again after a failure (POST)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from reviews.models import PullRequest
from reviews.roles import role_required
from reviews.selectors.proposals import proposal_get_for_user
from reviews.services.code_hosts.delivery import pull_request_retry
from reviews.services.transitions import TransitionError


@require_POST
@role_required("can_act")
def pull_request_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
    pull_request = PullRequest.objects.filter(proposal=proposal).first()
    if pull_request is None:
        raise Http404("This proposal has no pull request.")
    try:
        pull_request_retry(pull_request=pull_request, actor=request.user)
    except TransitionError:
        messages.error(
            request,
            f"The {pull_request.noun} is {pull_request.get_status_display().lower()}: "
            "there is nothing to retry.",
        )
    else:
        messages.success(request, f"Opening the {pull_request.noun} again.")
    return redirect(proposal.get_absolute_url())


urlpatterns = [
    path(
        "proposals/<int:pk>/pull-request/retry/",
        pull_request_retry_view,
        name="pull_request_retry",
    ),
]
