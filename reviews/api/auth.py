"""Who may call the API, and the HMAC signature a source with a shared secret must send.

Signature header (Stripe-style): `X-Wattson-Signature: t=<unix seconds>,v1=<hex>` where hex is
HMAC-SHA256(secret, f"{t}." + raw body). Several `v1=` entries are allowed, so one batch can carry
the signature of every source it names that has a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

from reviews.roles import user_roles
from reviews.services.sources import source_secrets

SIGNATURE_HEADER = "X-Wattson-Signature"
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class SignatureError(Exception):
    """Missing, malformed, stale or wrong signature; the message tells the sender what to fix."""


def signature_compute(secret: str, timestamp: int | str, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The header value a sender puts on `body` (used by tests, the bench and client examples)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature_compute(secret, t, body)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    usage = f"{SIGNATURE_HEADER} must look like t=<unix seconds>,v1=<hex HMAC-SHA256 of 't.body'>"
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(usage)
        if key == "t":
            if not value.isdigit() or len(value) > 12:
                raise SignatureError(f"{usage}; t is not a unix timestamp")
            timestamp = int(value)
        elif key == "v1":
            if not _HEX_SHA256.fullmatch(value):
                raise SignatureError(f"{usage}; v1 is not 64 hex digits")
            signatures.append(value.lower())
        # Unknown keys are ignored so a future scheme (v2=) can be sent alongside.
    if timestamp is None or not signatures:
        raise SignatureError(usage)
    return timestamp, signatures


def signature_verify(*, header: str | None, body: bytes, sources: Iterable[str]) -> None:
    """Raise SignatureError unless `header` signs `body` for every source that has a secret."""
    secrets = source_secrets()
    needed = sorted({s for s in sources if s in secrets})
    if not needed:
        return
    if not header:
        raise SignatureError(
            f"source {needed[0]!r} has a shared secret: send {SIGNATURE_HEADER}: "
            "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>'>"
        )
    timestamp, signatures = _parse_header(header)
    tolerance = settings.WATTSON_SIGNATURE_TOLERANCE_S
    skew = int(time.time()) - timestamp
    if abs(skew) > tolerance:
        when = "old" if skew > 0 else "in the future"
        raise SignatureError(
            f"{SIGNATURE_HEADER} timestamp is {abs(skew)} s {when}; at most {tolerance} s is "
            "allowed: sign each request when sending it, and check the sender's clock"
        )
    for source in needed:
        expected = signature_compute(secrets[source], timestamp, body)
        # Compare against every v1 without stopping early, in constant time per comparison.
        matched = False
        for candidate in signatures:
            matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise SignatureError(
                f"{SIGNATURE_HEADER} does not match the body for source {source!r}: sign the "
                "exact bytes sent, with that source's secret"
            )


class CanReadFindings(BasePermission):
    """Reads: any Wattson role, including the ingest service accounts."""

    message = "Your account has no Wattson role."

    def has_permission(self, request, view) -> bool:
        roles = user_roles(request.user)
        return roles.can_read or roles.ingest


class CanIngestOrRead(BasePermission):
    """GET for any role; POST for ingest accounts, reviewers, skill-admins (managers read only)."""

    def has_permission(self, request, view) -> bool:
        roles = user_roles(request.user)
        if request.method in SAFE_METHODS:
            self.message = "Your account has no Wattson role."
            return roles.can_read or roles.ingest
        self.message = "Only ingest service accounts, reviewers and skill-admins may post findings."
        return roles.can_ingest
