"""Which accounts may post findings for a source: sources are bound to their accounts.

A detector's token could otherwise post under any source name, including another detector's,
and its findings would be trusted as that detector's. The rules:
- names are compared exactly, as stored: "perf-sentinel " is not "perf-sentinel";
- a new name that differs from a known source (or a source with a shared secret) only by case
  or surrounding spaces is refused, so a look-alike cannot pass for the real one;
- the first account to post for a new (or still unbound) source is bound to it; afterwards only
  its bound accounts (the admin adds more) and superusers may post for it;
- posts without an account (`manage.py ingest`, the demo) are the operator's own and pass.
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from reviews.models import Source
from reviews.services.audit import audit_record

SECRETS_ENV = "WATTSON_SOURCE_SECRETS"


def source_secrets() -> dict[str, str]:
    """Shared secrets by source name, read from the environment on every call.

    Secrets never live in the database or in settings files: rotating one is an environment
    change and a restart-free re-read.
    """
    raw = os.environ.get(SECRETS_ENV, "").strip()
    if not raw:
        return {}
    try:
        secrets = json.loads(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f'{SECRETS_ENV} must be a JSON object {{"source-name": "secret"}}; it is not JSON'
        ) from None
    if not isinstance(secrets, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in secrets.items()
    ):
        raise ImproperlyConfigured(
            f'{SECRETS_ENV} must be a JSON object {{"source-name": "secret"}} of non-empty strings'
        )
    return secrets


class SourceRefused(Exception):
    """The account may not post for this source; the message says why and what to do."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.source = source
        self.message = message


def _look_alike(name: str) -> str:
    return name.strip().casefold()


def _is_account(actor: Any | None) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def sources_admit(*, names: set[str], actor: Any | None) -> None:
    """Create missing sources and bind them to `actor`; raise SourceRefused for a foreign one.

    Called inside the ingest transaction, with every source name of the batch: a refusal
    rolls the whole batch back. Sources are locked in name order (as ingest locks everything).
    """
    known = {
        source.name: source
        for source in Source.objects.select_for_update().filter(name__in=names).order_by("name")
    }
    missing = sorted(names - set(known))
    if missing:
        _refuse_look_alikes(missing, set(source_secrets()))
    for name in missing:
        source, _ = Source.objects.get_or_create(name=name)
        known[name] = source
    if not _is_account(actor) or actor.is_superuser:
        return
    bound = set(
        Source.accounts.through.objects.filter(source__in=known.values()).values_list(
            "source__name", "user_id"
        )
    )
    bound_sources = {name for name, _ in bound}
    for name in sorted(names):
        if name not in bound_sources:
            known[name].accounts.add(actor)
            audit_record(
                actor=actor, verb="source.bind", target=known[name], data={"account": actor.pk}
            )
        elif (name, actor.pk) not in bound:
            raise SourceRefused(
                name,
                f"source {name!r} is bound to other accounts: post with its own token, or ask "
                "an admin to add your account to the source",
            )


def _refuse_look_alikes(missing: list[str], secret_names: set[str]) -> None:
    """A new name that only differs by case or spaces from a known one is a mistake or a trick."""
    # Compared in Python: the database's collation would decide case otherwise.
    candidates = set(Source.objects.values_list("name", flat=True)) | set(secret_names)
    by_look = {_look_alike(name): name for name in sorted(candidates)}
    for name in missing:
        twin = by_look.get(_look_alike(name))
        if twin is not None and twin != name:
            raise SourceRefused(
                name,
                f"source {name!r} differs from the known source {twin!r} only by case or "
                "spaces: send the exact name",
            )
