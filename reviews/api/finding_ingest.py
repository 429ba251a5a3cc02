"""What the ingest POST adds over the service because it is HTTP: the size limit (before the
body is held in memory), the raw bytes a signature covers, the per-account rate, the sources a
signature must cover and the one-line detail of a refusal."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import caches
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import ScopedRateThrottle

from reviews.services.ingest import IngestResult


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The body is larger than {limit} bytes: send smaller batches "
            f"(at most {settings.WATTSON_INGEST_MAX_BATCH} findings each)."
        )


def check_declared_length(request: Any, limit: int) -> None:
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)


class RawJSONParser(BaseParser):
    """Hands the view the raw bytes: the signature covers them exactly as sent.

    Reads at most one byte past the limit, whatever Content-Length claims, so an oversize
    body is refused without being held in memory.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = settings.WATTSON_INGEST_MAX_BYTES
        request = (parser_context or {}).get("request")
        if request is not None:
            check_declared_length(request, limit)
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(limit)
        return data


def sources_named(payload: Any) -> set[str]:
    items = payload if isinstance(payload, list) else [payload]
    return {
        item["source"]
        for item in items
        if isinstance(item, dict) and isinstance(item.get("source"), str)
    }


def failure_detail(result: IngestResult) -> str:
    if result.is_conflict:
        return result.errors[0]["error"]
    bad_items = {e["index"] for e in result.errors if e["index"] is not None}
    if not bad_items:
        return result.errors[0]["error"]
    if result.is_batch:
        first = result.errors[0]
        where = f"[{first['index']}]" + (f".{first['field']}" if first["field"] else "")
        return (
            f"{len(bad_items)} finding{'s' if len(bad_items) != 1 else ''} of the batch "
            f"{'are' if len(bad_items) != 1 else 'is'} invalid; nothing was written "
            f"(first: {where} {first['error']})"
        )
    fields = "; ".join(f"{e['field']} {e['error']}" for e in result.errors)
    return f"invalid finding: {fields}"


class IngestRateThrottle(ScopedRateThrottle):
    """Posts per account (its token), at most WATTSON_INGEST_RATE; reads are not counted.

    Counted in the database cache, so every web process shares one count; over the rate the
    answer is 429 with Retry-After.
    """

    cache = caches["throttle"]

    def get_rate(self) -> str:
        return settings.WATTSON_INGEST_RATE  # read per request, like every setting

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
