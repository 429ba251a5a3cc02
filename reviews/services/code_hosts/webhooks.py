"""Webhooks from the code hosts: prove who sent them, then record the request's fate.

GitHub signs the raw body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`;
GitLab sends the shared token itself in `X-Gitlab-Token`. Both are compared in constant time
against the secret in the environment (WATTSON_GITHUB_WEBHOOK_SECRET,
WATTSON_GITLAB_WEBHOOK_TOKEN); without one configured every delivery is refused. A delivery
about a request Wattson did not open, or an event that changes nothing, is acknowledged and
ignored, so the host does not keep re-sending it; a repeated one changes nothing twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from reviews.models import PullRequest
from reviews.services.code_hosts.delivery import pull_request_record_fate
from reviews.services.code_hosts.hosts import GITHUB, GITLAB, WEBHOOK_SECRET_ENV, webhook_secret
from reviews.services.transitions import TransitionError


class WebhookRefused(Exception):
    """The delivery is not proven to come from the host (403) or cannot be read (400)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class WebhookOutcome:
    message: str
    changed: bool = False


def _require_secret(host: str) -> str:
    secret = webhook_secret(host)
    if not secret:
        raise WebhookRefused(
            f"webhooks from this host are off: {WEBHOOK_SECRET_ENV[host]} is not set", 403
        )
    return secret


def github_verify(*, body: bytes, signature: str) -> None:
    secret = _require_secret(GITHUB)
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), (signature or "").strip().encode()):
        raise WebhookRefused("X-Hub-Signature-256 does not match the body", 403)


def gitlab_verify(*, token: str) -> None:
    secret = _require_secret(GITLAB)
    if not hmac.compare_digest(secret.encode(), (token or "").encode()):
        raise WebhookRefused("X-Gitlab-Token does not match", 403)


def _json(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused("the body is not JSON", 400) from None
    if not isinstance(payload, dict):
        raise WebhookRefused("the body is not a JSON object", 400)
    return payload


def _record(host: str, project: str, number: object, state: str, via: str) -> WebhookOutcome:
    if not isinstance(number, int) or not project:
        raise WebhookRefused("the event names no project and number", 400)
    pull_request = PullRequest.objects.filter(
        host=host, project__iexact=project, number=number
    ).first()
    if pull_request is None:
        return WebhookOutcome(f"not a Wattson request: {project} {number}")
    try:
        changed = pull_request_record_fate(pull_request=pull_request, state=state, via=via)
    except TransitionError as exc:
        return WebhookOutcome(f"ignored: {exc}")
    return WebhookOutcome(f"{project} {number} is {state}", changed)


def github_event(*, event: str, body: bytes, delivery: str = "") -> WebhookOutcome:
    """A verified GitHub delivery: `pull_request` closed (merged or not) or reopened."""
    payload = _json(body)
    if event == "ping":
        return WebhookOutcome("pong")
    if event != "pull_request":
        return WebhookOutcome(f"ignored event {event or '(none)'}")
    action = payload.get("action")
    pull = payload.get("pull_request") or {}
    if action == "closed":
        state = "merged" if pull.get("merged") else "closed"
    elif action == "reopened":
        state = "open"
    else:
        return WebhookOutcome(f"ignored action {action}")
    project = (payload.get("repository") or {}).get("full_name", "")
    via = f"GitHub webhook {delivery}".strip()
    return _record(GITHUB, project, pull.get("number"), state, via)


def gitlab_event(*, event: str, body: bytes) -> WebhookOutcome:
    """A verified GitLab delivery: a Merge Request Hook that merged, closed or reopened."""
    payload = _json(body)
    if event != "Merge Request Hook" and payload.get("object_kind") != "merge_request":
        return WebhookOutcome(f"ignored event {event or '(none)'}")
    attributes = payload.get("object_attributes") or {}
    state = {"merge": "merged", "close": "closed", "reopen": "open"}.get(attributes.get("action"))
    if state is None:
        return WebhookOutcome(f"ignored action {attributes.get('action')}")
    project = (payload.get("project") or {}).get("path_with_namespace", "")
    return _record(GITLAB, project, attributes.get("iid"), state, "GitLab webhook")
