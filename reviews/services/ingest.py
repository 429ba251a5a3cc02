"""Findings ingest: one finding or a batch, checked against finding.schema.json, idempotent.

The REST API and `manage.py ingest` both call `finding_ingest`; neither validates on its own.
A batch is all or nothing: one bad item and nothing of it is written. Re-sending the same
(source, external_id) with the same body returns the existing finding; with a different body it
is a conflict. Batches are the hot path (detectors send thousands of findings at once), so a
batch costs a handful of queries whatever its size: one for the keys already stored, one each for
sources, services, repositories and assignees, then bulk inserts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import fastjsonschema
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from reviews.models import AuditEvent, Finding, Repository, Service, Source
from reviews.services.audit import audit_record

logger = logging.getLogger(__name__)

# The product's own copy of shared/spec/finding.schema.json (a test keeps the two equal).
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "finding.schema.json"
EVIDENCE_MAX_BYTES = 64 * 1024
# Columns the schema leaves unbounded but the database does not.
_MAX_LENGTHS = {
    ("metric",): Finding._meta.get_field("metric").max_length,
    ("pattern",): Finding._meta.get_field("pattern").max_length,
    ("root_cause", "title"): Finding._meta.get_field("root_cause_title").max_length,
    ("root_cause", "author"): Finding._meta.get_field("root_cause_author").max_length,
    ("root_cause", "url"): Finding._meta.get_field("root_cause_url").max_length,
}
# Concurrent writers of the same key: the loser re-reads and sees the winner's row.
_WRITE_ATTEMPTS = 5

# Called with the ids of newly created findings after the ingest transaction commits (auto-solve
# registers itself here). A failing hook is logged; the findings stay ingested.
POST_INGEST_HOOKS: list[Callable[[list[int]], None]] = []


class PayloadError(Exception):
    """The body is not JSON a finding can be read from; the message says why."""


@dataclass
class IngestResult:
    """What one ingest did. Errors mean nothing was written."""

    created: list[int] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)
    # {"index": item index (0 for a single finding, None for the whole payload), "field": dotted
    #  path or "", "error": message, "code": "invalid" | "conflict", "finding": id on conflict}
    errors: list[dict[str, Any]] = field(default_factory=list)
    is_batch: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def is_conflict(self) -> bool:
        """Every error is a key clash with a different body (the API's 409)."""
        return bool(self.errors) and all(e["code"] == "conflict" for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "existing": self.existing, "errors": self.errors}


# --- parsing ----------------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise PayloadError(f"invalid JSON: {name} is not a number JSON allows")


def _finite_float(text: str) -> float | int:
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"invalid JSON: {text} is too large for a number")
    # 5.0 is read as 5 (see _normalize_numbers): the canonical form then needs no second pass.
    return int(value) if value.is_integer() else value


def payload_parse(raw: bytes | str) -> Any:
    """Parse an ingest body; NaN, Infinity and overflowing numbers are refused."""
    try:
        return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except UnicodeDecodeError:
        raise PayloadError("invalid JSON: the body is not UTF-8") from None
    except RecursionError:
        raise PayloadError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise PayloadError(f"invalid JSON: {exc}") from None


# --- validation -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def finding_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type keyword reports non-strings
    return _parse_datetime(value) is not None


def _parse_datetime(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # RFC 3339 needs an offset; a naive time would be read in whatever zone the server has.
    return parsed if parsed.tzinfo is not None else None


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    # jsonschema only checks "date-time" when an optional package is installed; check it here.
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_rfc3339)
    return Draft202012Validator(finding_schema(), format_checker=checker)


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(error: ValidationError) -> str:
    """A message that names the rule without echoing a possibly huge value."""
    rule, expected = error.validator, error.validator_value
    if rule == "type":
        return f"must be of type {expected}"
    if rule == "enum":
        return "must be one of: " + ", ".join(str(v) for v in expected)
    if rule == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters"
    if rule == "maxLength":
        return f"must be at most {expected} characters"
    if rule == "minItems":
        return f"must hold at least {expected} item{'s' if expected != 1 else ''}"
    if rule == "maxItems":
        return f"must hold at most {expected} items"
    if rule == "minimum":
        return f"must be at least {expected}"
    if rule == "maximum":
        return f"must be at most {expected}"
    if rule == "exclusiveMinimum":
        return f"must be greater than {expected}"
    if rule == "pattern":
        return f"must match {expected} (got {_short(error.instance)})"
    if rule == "format" and expected == "date-time":
        return "must be an RFC 3339 date-time with a timezone, e.g. 2026-01-31T12:00:00Z"
    return error.message[:200]


@lru_cache(maxsize=1)
def _fast_check() -> Callable[[Any], Any]:
    # Generated code, ~20x faster than jsonschema on a valid finding: batches of valid findings
    # are the hot path. It only says yes or no; jsonschema words every error.
    return fastjsonschema.compile(finding_schema(), formats={"date-time": _is_rfc3339})


def _schema_errors(item: Any) -> list[tuple[str, str]]:
    try:
        _fast_check()(item)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    problems: list[tuple[str, str]] = []
    for error in _validator().iter_errors(item):
        path = list(error.absolute_path)
        if error.validator == "required":
            # jsonschema yields one error per missing property; name each exactly once.
            missing = [p for p in error.validator_value if p not in error.instance]
            for name in missing:
                entry = (_dotted([*path, name]), "is required")
                if entry not in problems:
                    problems.append(entry)
        elif error.validator == "additionalProperties":
            known = error.schema.get("properties", {})
            for name in error.instance:
                if name not in known:
                    problems.append((_dotted([*path, name]), "is not a field of a finding"))
        else:
            problems.append((_dotted(path) or "(finding)", _describe(error)))
    return problems


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def _normalize_numbers(value: Any) -> Any:
    """5.0 and 5 are the same number: a resend that reformats one is not a different body."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize_numbers(v) for v in value]
    return value


# Where json.dumps may have written an integral float: "5.0", "1e+16". Text inside strings can
# match too; that only costs the exact (slower) path.
_MAYBE_INTEGRAL_FLOAT = re.compile(r"\d\.0[,\]}]|\de\+")


def _canonical(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if not _MAYBE_INTEGRAL_FLOAT.search(text):
        return text
    return json.dumps(
        _normalize_numbers(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def _extra_errors(item: dict[str, Any], canonical: str) -> list[tuple[str, str]]:
    """Limits the schema cannot express: column sizes, evidence size, NUL characters."""
    problems: list[tuple[str, str]] = []
    for path, limit in _MAX_LENGTHS.items():
        value: Any = item
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and len(value) > limit:
            problems.append((".".join(path), f"must be at most {limit} characters"))
    commit = (item.get("root_cause") or {}).get("commit")
    if isinstance(commit, str) and commit.endswith("\n"):
        # The schema's "$" also matches before a final newline; git would not.
        problems.append(("root_cause.commit", "must be a hex commit id without a newline"))
    evidence = item.get("evidence")
    if evidence is not None:
        size = len(json.dumps(evidence, separators=(",", ":"), ensure_ascii=False).encode())
        if size > EVIDENCE_MAX_BYTES:
            problems.append(
                ("evidence", f"is {size} bytes serialized; at most {EVIDENCE_MAX_BYTES} allowed")
            )
    # PostgreSQL text and jsonb cannot store U+0000; json.dumps always escapes it as \u0000.
    if "\\u0000" in canonical and _contains_nul(item):
        problems.append(("(finding)", "contains a NUL character (\\u0000), which is not stored"))
    return problems


@dataclass
class _Item:
    index: int
    data: dict[str, Any]
    sha256: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.data["source"], self.data["external_id"])


def _error(index: int | None, field_name: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"index": index, "field": field_name, "error": message, "code": "invalid", **extra}


def _validate(items: list[Any], result: IngestResult) -> list[_Item]:
    valid: list[_Item] = []
    for index, data in enumerate(items):
        if not isinstance(data, dict):
            result.errors.append(_error(index, "", "must be a finding (a JSON object)"))
            continue
        problems = _schema_errors(data)
        canonical = _canonical(data)
        if not problems:
            problems = _extra_errors(data, canonical)
        for field_name, message in problems:
            result.errors.append(_error(index, field_name, message))
        if not problems:
            valid.append(_Item(index, data, hashlib.sha256(canonical.encode()).hexdigest()))
    return valid


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
            result.errors.append(_error(None, "", "a batch must hold at least one finding"))
            return result
        if len(payload) > limit:
            result.errors.append(
                _error(
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
            _error(None, "", "expected a finding (JSON object) or a list of findings")
        )
        return result

    valid = _validate(items, result)
    if result.errors:
        return result

    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        outcome = IngestResult(is_batch=is_batch)
        try:
            with transaction.atomic():
                _write(valid, actor=actor, result=outcome)
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


def _write(valid: list[_Item], *, actor: Any | None, result: IngestResult) -> None:
    stored = _existing_by_key({item.key for item in valid})
    # Keys first seen earlier in this batch: index into `new`, and the body's hash.
    in_batch: dict[tuple[str, str], tuple[int, str]] = {}
    new: list[_Item] = []
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
                _error(
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
    services = _services_for(new, repositories, actor=actor)
    _sources_ensure({item.data["source"] for item in new})
    assignees = _users_by_email({item.data.get("root_cause", {}).get("author", "") for item in new})

    rows = [_finding_row(item, services, repositories, assignees) for item in new]
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


def _conflict(item: _Item, pk: int | None) -> dict[str, Any]:
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
    new: list[_Item], repositories: dict[str, Repository], *, actor: Any | None
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


def _sources_ensure(names: set[str]) -> None:
    known = set(Source.objects.filter(name__in=names).values_list("name", flat=True))
    for name in sorted(names - known):
        Source.objects.get_or_create(name=name)


def _finding_row(
    item: _Item,
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
        detected_at=_parse_datetime(detected_at) if detected_at else None,
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
    label = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        label = actor.get_username()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor if label else None,
                actor_label=label or "system",
                verb="finding.ingest",
                target_type="finding",
                target_id=str(row.pk),
                new_state=row.status,
                data={"source": row.source, "external_id": row.external_id},
            )
            for row in rows
        ],
        batch_size=500,
    )


def on_findings_created(finding_ids: list[int]) -> None:
    """Run every post-ingest hook; one failing hook does not stop the others."""
    for hook in list(POST_INGEST_HOOKS):
        try:
            hook(finding_ids)
        except Exception:
            logger.exception("post-ingest hook %r failed for findings %s", hook, finding_ids)
