"""Request a fix, and follow the solve: a POST endpoint and a polled status endpoint."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST, require_safe

from reviews.roles import role_required, user_roles
from reviews.selectors.findings import finding_get_for_user
from reviews.selectors.solving import solve_status
from reviews.services.solve_backends import BACKENDS
from reviews.services.solving import SolveRefused, solve_request

MAX_COMMENT_CHARS = 4000


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@role_required("can_read")
@require_POST
def request_fix(request: HttpRequest, finding_id: int) -> HttpResponse:
    finding = finding_get_for_user(user=request.user, finding_id=finding_id)
    if not user_roles(request.user).can_act:
        raise PermissionDenied("Managers read findings; reviewers request fixes.")
    backend = request.POST.get("backend") or None
    comment = (request.POST.get("comment") or "").strip()
    problem = ""
    if backend is not None and backend not in BACKENDS:
        problem = f"Unknown solver backend {backend!r}: choose offline or anthropic."
    elif len(comment) > MAX_COMMENT_CHARS:
        problem = f"The comment is longer than {MAX_COMMENT_CHARS} characters."
    if problem:
        if _wants_json(request):
            return JsonResponse({"error": problem}, status=400)
        messages.error(request, problem)
        return HttpResponseRedirect(finding.get_absolute_url())
    # A decided finding's Fix panel posts this from its confirm step; the API sends it.
    confirm = (request.POST.get("confirm_redecide") or "").lower() in ("1", "true", "on", "yes")
    try:
        run = solve_request(
            finding=finding,
            actor=request.user,
            backend=backend,
            comment=comment,
            confirm_redecide=confirm,
        )
    except SolveRefused as exc:
        if _wants_json(request):
            return JsonResponse({"error": exc.message, "code": exc.code}, status=exc.status_code)
        messages.error(request, exc.message)
        return HttpResponseRedirect(finding.get_absolute_url())
    if _wants_json(request):
        return JsonResponse(solve_status(finding=finding), status=202)
    messages.success(request, f"Solve run {run.pk} is {run.get_status_display().lower()}.")
    return HttpResponseRedirect(finding.get_absolute_url())


@role_required("can_read")
@require_safe
def status(request: HttpRequest, finding_id: int) -> HttpResponse:
    """JSON for the polling script; ?format=html gives the panel fragment instead."""
    finding = finding_get_for_user(user=request.user, finding_id=finding_id)
    data = solve_status(finding=finding)
    if request.GET.get("format") == "html":
        active_run = finding.solve_runs.filter(status__in=("queued", "running")).first()
        return render(
            request,
            "reviews/_solve_panel.html",
            {
                "finding": finding,
                "active_run": active_run,
                "can_act": user_roles(request.user).can_act,
            },
        )
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("findings/<int:finding_id>/solve/", request_fix, name="solve-request"),
    path("findings/<int:finding_id>/solve/status/", status, name="solve-status"),
]
