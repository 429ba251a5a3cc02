"""Reading an ingest body: parse the JSON, check every finding against finding.schema.json.

The write side (reviews.services.ingest) takes only what passes here. Checks the schema cannot
express live here too: column sizes, evidence size, NUL characters, and text that is not text
(a lone surrogate such as "\\ud800" is valid JSON but cannot be stored or shown).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from reviews.models import Finding

# The product's own copy of shared/spec/finding.schema.json (a test keeps the two equal).
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "finding.schema.json"
EVIDENCE_MAX_BYTES = 64 * 1024
# Columns the schema leaves unbounded but the database does not.
COLUMN_MAX_LENGTHS = {
    ("metric",): Finding._meta.get_field("metric").max_length,
    ("pattern",): Finding._meta.get_field("pattern").max_length,
    ("root_cause", "title"): Finding._meta.get_field("root_cause_title").max_length,
    ("root_cause", "author"): Finding._meta.get_field("root_cause_author").max_length,
    ("root_cause", "url"): Finding._meta.get_field("root_cause_url").max_length,
}


class PayloadError(Exception):
    """The body is not JSON a finding can be read from; the message says why."""


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
    return parse_datetime(value) is not None


def parse_datetime(value: str) -> datetime | None:
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
    for path, limit in COLUMN_MAX_LENGTHS.items():
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
class ValidItem:
    """A finding that passed every check, with the hash of its canonical body."""

    index: int
    data: dict[str, Any]
    sha256: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.data["source"], self.data["external_id"])


def ingest_error(
    index: int | None, field_name: str, message: str, *, code: str = "invalid", **extra: Any
) -> dict[str, Any]:
    """One entry of IngestResult.errors (the API and the CLI print these as they are)."""
    return {"index": index, "field": field_name, "error": message, "code": code, **extra}


# Text a finding may not hold: a lone surrogate ("\ud800" in JSON) parses, but no database,
# log or response can encode it. Fields are named with ascii() so the error itself is printable.
BAD_TEXT = "invalid_text"


def _bad_text_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[str]:
    if isinstance(value, str):
        return [] if _encodes(value) else [_dotted(path) or "(finding)"]
    found: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            name = key if _encodes(key) else ascii(key)
            if name != key:
                found.append(_dotted((*path, name)))
            found.extend(_bad_text_paths(child, (*path, name)))
    elif isinstance(value, list):
        for position, child in enumerate(value):
            found.extend(_bad_text_paths(child, (*path, position)))
    return found


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_error(field_name: str, *, index: int | None = None) -> dict[str, Any]:
    """The error for a field holding a lone surrogate or other unencodable text."""
    return ingest_error(
        index,
        field_name,
        "is not valid Unicode text (it holds a lone surrogate such as \\ud800): send UTF-8 text",
        code=BAD_TEXT,
    )


def items_validate(items: list[Any]) -> tuple[list[ValidItem], list[dict[str, Any]]]:
    """Check each item; (the valid ones, the errors of the others)."""
    valid: list[ValidItem] = []
    errors: list[dict[str, Any]] = []
    for index, data in enumerate(items):
        if not isinstance(data, dict):
            errors.append(ingest_error(index, "", "must be a finding (a JSON object)"))
            continue
        canonical = _canonical(data)
        try:
            encoded = canonical.encode("utf-8")
        except UnicodeEncodeError:
            # Checked first: schema messages may quote the value, and nothing may echo it.
            errors.extend(text_error(path, index=index) for path in _bad_text_paths(data))
            continue
        problems = _schema_errors(data) or _extra_errors(data, canonical)
        for field_name, message in problems:
            errors.append(ingest_error(index, field_name, message))
        if not problems:
            valid.append(ValidItem(index, data, hashlib.sha256(encoded).hexdigest()))
    return valid, errors
