"""Webhook endpoints for the code hosts: a pull / merge request was merged, closed or reopened.

No login and no CSRF token: the hosts cannot have either. Each delivery proves itself instead
(reviews.services.code_hosts.webhooks: GitHub's HMAC signature of the raw body, GitLab's shared
token, both compared in constant time), and an unproven one is refused before its body is read.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reviews.services.code_hosts.webhooks import (
    WebhookRefused,
    github_event,
    github_verify,
    gitlab_event,
    gitlab_verify,
)


def _refused(exc: WebhookRefused) -> JsonResponse:
    return JsonResponse({"error": exc.message}, status=exc.status)


@csrf_exempt
@require_POST
def github_webhook(request: HttpRequest) -> JsonResponse:
    try:
        github_verify(body=request.body, signature=request.headers.get("X-Hub-Signature-256", ""))
        outcome = github_event(
            event=request.headers.get("X-GitHub-Event", ""),
            body=request.body,
            delivery=request.headers.get("X-GitHub-Delivery", "")[:100],
        )
    except WebhookRefused as exc:
        return _refused(exc)
    return JsonResponse({"ok": True, "changed": outcome.changed, "message": outcome.message})


@csrf_exempt
@require_POST
def gitlab_webhook(request: HttpRequest) -> JsonResponse:
    try:
        gitlab_verify(token=request.headers.get("X-Gitlab-Token", ""))
        outcome = gitlab_event(event=request.headers.get("X-Gitlab-Event", ""), body=request.body)
    except WebhookRefused as exc:
        return _refused(exc)
    return JsonResponse({"ok": True, "changed": outcome.changed, "message": outcome.message})


urlpatterns = [
    path("hooks/github/", github_webhook, name="webhook_github"),
    path("hooks/gitlab/", gitlab_webhook, name="webhook_gitlab"),
]
