"""Findings ingest: one finding or a batch, checked by ingest_validation, idempotent.

The REST API and `manage.py ingest` both call `finding_ingest`; neither validates on its own.
A batch is all or nothing: one bad item and nothing of it is written. Re-sending the same
(source, external_id) with the same body returns the existing finding; with a different body it
is a conflict. Batches are the hot path (detectors send thousands of findings at once), so a
batch costs a handful of queries whatever its size: one for the keys already stored, one each for
sources, services, repositories and assignees, then bulk inserts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from reviews import metrics
from reviews.models import Finding, Repository, Service
from reviews.services.audit import audit_record, audit_record_many
from reviews.services.ingest_validation import (
    BAD_TEXT,
    ValidItem,
    ingest_error,
    items_validate,
    parse_datetime,
)
from reviews.services.sources import SourceRefused, sources_admit

logger = logging.getLogger(__name__)

# Concurrent writers of the same key: the loser re-reads and sees the winner's row.
_WRITE_ATTEMPTS = 5

# Called with the ids of newly created findings after the ingest transaction commits (auto-solve
# registers itself here). A failing hook is logged; the findings stay ingested.
POST_INGEST_HOOKS: list[Callable[[list[int]], None]] = []
# IngestResult error codes beyond "invalid" and "conflict" (the API maps each to a status).
SOURCE_REFUSED = "source_refused"


@dataclass
class IngestResult:
    """What one ingest did. Errors mean nothing was written."""

    created: list[int] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)
    # {"index": item index (0 for a single finding, None for the whole payload), "field": dotted
    #  path or "", "error": message, "code": "invalid" | "invalid_text" | "conflict" |
    #  "source_refused", "finding": id on conflict}
    errors: list[dict[str, Any]] = field(default_factory=list)
    is_batch: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def is_conflict(self) -> bool:
        """Every error is a key clash with a different body (the API's 409)."""
        return bool(self.errors) and all(e["code"] == "conflict" for e in self.errors)

    @property
    def source_refused(self) -> bool:
        """The account may not post for a source of the body (the API's 403)."""
        return any(e["code"] == SOURCE_REFUSED for e in self.errors)

    @property
    def has_bad_text(self) -> bool:
        """Some field holds text that is not text (the CLI's exit 2)."""
        return any(e["code"] == BAD_TEXT for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "existing": self.existing, "errors": self.errors}


# --- writing ----------------------------------------------------------------------------------


def finding_ingest(
    *, payload: dict | list, actor: Any | None, max_batch: int | None = None
) -> IngestResult:
    """Ingest one finding or a list of them; all or nothing.

    Returns the ids created and the ids that already existed (same key, same body). Any invalid
    item, unknown repository or conflicting resend fills `errors` and writes nothing.
    """
    limit = max_batch if max_batch is not None else settings.WATTSON_INGEST_MAX_BATCH
    is_batch = isinstance(payload, list)
    result = IngestResult(is_batch=is_batch)
    if is_batch:
        if not payload:
            result.errors.append(ingest_error(None, "", "a batch must hold at least one finding"))
            return result
        if len(payload) > limit:
            result.errors.append(
                ingest_error(
                    None,
                    "",
                    f"a batch holds at most {limit} findings, got {len(payload)}: "
                    "split it into smaller batches",
                )
            )
            return result
        items = payload
    elif isinstance(payload, dict):
        items = [payload]
    else:
        result.errors.append(
            ingest_error(None, "", "expected a finding (JSON object) or a list of findings")
        )
        return result

    valid, errors = items_validate(items)
    result.errors.extend(errors)
    if result.errors:
        return result

    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        outcome = IngestResult(is_batch=is_batch)
        try:
            with transaction.atomic():
                _write(valid, actor=actor, result=outcome)
            metrics.findings_ingested(created=len(outcome.created), existing=len(outcome.existing))
            return outcome
        except (IntegrityError, OperationalError) as exc:
            # Another writer stored one of these keys (or a service) between our read and
            # our insert; the savepoint is rolled back, and the next read sees its row.
            # Rows are inserted in key order so writers do not deadlock; should PostgreSQL
            # still pick us as a deadlock victim, the retry is just as safe.
            retryable = isinstance(exc, IntegrityError) or _is_deadlock(exc)
            if not retryable or attempt == _WRITE_ATTEMPTS:
                raise
            logger.info("ingest: collision with a concurrent writer, retrying (%d)", attempt)
    raise AssertionError("unreachable")


def _is_deadlock(exc: OperationalError) -> bool:
    # 40P01 deadlock_detected, 40001 serialization_failure (PostgreSQL SQLSTATEs).
    return getattr(exc.__cause__, "sqlstate", None) in ("40P01", "40001")


def _existing_by_key(keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    query = Q()
    for source, external_ids in by_source.items():
        query |= Q(source=source, external_id__in=external_ids)
    rows = Finding.objects.filter(query).values_list(
        "source", "external_id", "id", "payload_sha256"
    )
    return {(s, e): (pk, sha) for s, e, pk, sha in rows}


def _write(valid: list[ValidItem], *, actor: Any | None, result: IngestResult) -> None:
    stored = _existing_by_key({item.key for item in valid})
    # Keys first seen earlier in this batch: index into `new`, and the body's hash.
    in_batch: dict[tuple[str, str], tuple[int, str]] = {}
    new: list[ValidItem] = []
    # Per valid item, in order: ("existing", stored id) | ("new", position in `new`) |
    # ("repeat", position in `new` of the identical earlier item of this batch).
    plan: list[tuple[str, int]] = []
    for item in valid:
        if item.key in stored:
            pk, sha = stored[item.key]
            if sha != item.sha256:
                result.errors.append(_conflict(item, pk))
            else:
                plan.append(("existing", pk))
        elif item.key in in_batch:
            position, sha = in_batch[item.key]
            if sha != item.sha256:
                result.errors.append(_conflict(item, None))
            else:
                plan.append(("repeat", position))
        else:
            in_batch[item.key] = (len(new), item.sha256)
            plan.append(("new", len(new)))
            new.append(item)

    repo_names = {item.data["repository"] for item in new if item.data.get("repository")}
    repositories = {r.name: r for r in Repository.objects.filter(name__in=repo_names)}
    for item in new:
        name = item.data.get("repository")
        if name and name not in repositories:
            result.errors.append(
                ingest_error(
                    item.index,
                    "repository",
                    f"no registered repository is named {name!r}: register it with "
                    "`manage.py add_repo`, or leave the field out to use the service's",
                )
            )
    if result.errors:
        result.errors.sort(key=lambda e: e["index"])
        return

    # Concurrent writers take row locks in one global order (services, sources, findings,
    # each sorted by name or key), so two overlapping batches cannot deadlock.
    try:
        sources_admit(names={item.key[0] for item in valid}, actor=actor)
    except SourceRefused as exc:
        index = next(item.index for item in valid if item.key[0] == exc.source)
        result.errors.append(ingest_error(index, "source", exc.message, code=SOURCE_REFUSED))
        return
    services = _services_for(new, repositories, actor=actor)
    assignees = _users_by_email({item.data.get("root_cause", {}).get("author", "") for item in new})

    created_by = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    rows = [_finding_row(item, services, repositories, assignees) for item in new]
    for row in rows:
        row.created_by = created_by
    in_key_order = sorted(range(len(new)), key=lambda i: new[i].key)
    # bulk_create sets each object's pk in place, so `rows` keeps the caller's order.
    Finding.objects.bulk_create([rows[i] for i in in_key_order], batch_size=500)
    _audit_ingest(rows, actor=actor)

    for kind, ref in plan:
        if kind == "new":
            result.created.append(rows[ref].pk)
        else:
            result.existing.append(ref if kind == "existing" else rows[ref].pk)
    if result.created:
        transaction.on_commit(partial(on_findings_created, list(result.created)))


def _conflict(item: ValidItem, pk: int | None) -> dict[str, Any]:
    source, external_id = item.key
    where = f"finding {pk}" if pk is not None else "an earlier item of this batch"
    return {
        "index": item.index,
        "field": "external_id",
        "error": (
            f"(source {source!r}, external_id {external_id!r}) is already {where} with a "
            "different body; a resend must be identical, and a new finding needs a new "
            "external_id"
        ),
        "code": "conflict",
        "finding": pk,
    }


def _services_for(
    new: list[ValidItem], repositories: dict[str, Repository], *, actor: Any | None
) -> dict[str, Service]:
    names = {item.data["service"] for item in new}
    services = {
        s.name: s for s in Service.objects.filter(name__in=names).select_related("repository")
    }
    for item in sorted(new, key=lambda item: item.data["service"]):
        name = item.data["service"]
        if name in services:
            continue
        # An unknown service starts with the default fleet figures (editable in the admin),
        # and with the repository its first finding names.
        repository = repositories.get(item.data.get("repository") or "")
        service, created = Service.objects.get_or_create(
            name=name, defaults={"repository": repository}
        )
        if created:
            audit_record(actor=actor, verb="service.create", target=service, data={"via": "ingest"})
        services[name] = service
    return services


def _users_by_email(emails: set[str]) -> dict[str, Any]:
    wanted = {e.lower() for e in emails if e}
    if not wanted:
        return {}
    users = (
        get_user_model()
        .objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=wanted, is_active=True)
        .order_by("-id")
    )
    # Lowest id wins when two accounts share an address: the older account.
    return {user.email_lower: user for user in users}


def _finding_row(
    item: ValidItem,
    services: dict[str, Service],
    repositories: dict[str, Repository],
    assignees: dict[str, Any],
) -> Finding:
    data = item.data
    service = services[data["service"]]
    root_cause = data.get("root_cause") or {}
    author = root_cause.get("author", "")
    repository = repositories.get(data.get("repository") or "") or service.repository
    detected_at = data.get("detected_at")
    return Finding(
        kind=data["kind"],
        source=data["source"],
        external_id=data["external_id"],
        payload_sha256=item.sha256,
        service=service,
        repository=repository,
        title=data["title"],
        metric=data["metric"],
        magnitude_pct=float(data["magnitude_pct"]),
        baseline=_optional_float(data.get("baseline")),
        current=_optional_float(data.get("current")),
        confidence=_optional_float(data.get("confidence")),
        detected_at=parse_datetime(detected_at) if detected_at else None,
        functions=data["functions"],
        root_cause_commit=root_cause.get("commit", ""),
        root_cause_title=root_cause.get("title", ""),
        root_cause_author=author,
        root_cause_url=root_cause.get("url", ""),
        pattern=data.get("pattern", ""),
        evidence=data.get("evidence", {}),
        assignee=assignees.get(author.lower()) if author else None,
        # What is at stake: the whole magnitude, before any skill's expected recovery.
        estimated_watts=service.watts_for_share(float(data["magnitude_pct"])),
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _audit_ingest(rows: list[Finding], *, actor: Any | None) -> None:
    # One row per finding, as audit_record would write, but in one insert per 500.
    audit_record_many(
        actor=actor,
        verb="finding.ingest",
        targets=[
            (row, row.status, {"source": row.source, "external_id": row.external_id})
            for row in rows
        ],
    )


def on_findings_created(finding_ids: list[int]) -> None:
    """Run every post-ingest hook; one failing hook does not stop the others."""
    for hook in list(POST_INGEST_HOOKS):
        try:
            hook(finding_ids)
        except Exception:
            logger.exception("post-ingest hook %r failed for findings %s", hook, finding_ids)
