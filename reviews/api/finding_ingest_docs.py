"""The ingest POST's documentation: its request body, derived from the schema the service
validates against (reviews.services.ingest_validation), and worked examples of every answer."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, PolymorphicProxySerializer

from reviews.api.finding_serializers import FindingSerializer, IngestBatchSerializer
from reviews.services.ingest_validation import (
    COLUMN_MAX_LENGTHS,
    EVIDENCE_MAX_BYTES,
    finding_schema,
)


def _openapi_30(node: Any) -> Any:
    """JSON Schema 2020-12 → the OpenAPI 3.0 dialect drf-spectacular emits."""
    if isinstance(node, list):
        return [_openapi_30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_30(v) for k, v in node.items() if k not in ("$schema", "title")}
    if isinstance(node.get("properties"), dict):
        # Property names are not keywords: a field called "title" keeps its schema.
        out["properties"] = {k: _openapi_30(v) for k, v in node["properties"].items()}
    if isinstance(out.get("exclusiveMinimum"), int | float) and "minimum" not in out:
        out["minimum"] = out["exclusiveMinimum"]
        out["exclusiveMinimum"] = True
    return out


def _no_nul_strings(node: Any) -> None:
    """Every free-text string documents the NUL rule the service enforces (PostgreSQL cannot
    store U+0000); a hex-pattern field already excludes it."""
    if isinstance(node, list):
        for child in node:
            _no_nul_strings(child)
    elif isinstance(node, dict):
        if node.get("type") == "string" and "pattern" not in node and "format" not in node:
            node["pattern"] = "^[^\\u0000]*$"
        for child in node.values():
            _no_nul_strings(child)


def _documented_finding() -> dict[str, Any]:
    """finding.schema.json (kept equal to the shared spec) plus the limits the service adds:
    column sizes, no NUL characters, evidence size."""
    finding = _openapi_30(copy.deepcopy(finding_schema()))
    for path, limit in COLUMN_MAX_LENGTHS.items():
        node = finding
        for key in path:
            node = node["properties"][key]
        node["maxLength"] = min(limit, node.get("maxLength", limit))
    _no_nul_strings(finding)
    evidence = finding["properties"]["evidence"]
    evidence["description"] += (
        f" At most {EVIDENCE_MAX_BYTES // 1024} KiB serialized; no NUL character in keys or values."
    )
    return finding


def ingest_request_schema() -> dict[str, Any]:
    finding = _documented_finding()
    batch = {
        "type": "array",
        "items": finding,
        "minItems": 1,
        "maxItems": settings.WATTSON_INGEST_MAX_BATCH,
        "description": "A batch: all or nothing.",
    }
    return {"oneOf": [finding, batch]}


_EXAMPLE_FINDING = {
    "kind": "regression",
    "external_id": "det-2026-0001",
    "source": "regression-detector",
    "service": "feed",
    "title": "parse_sku got 3x slower",
    "metric": "cpu",
    "magnitude_pct": 2.5,
    "functions": [{"symbol": "feed.skus.parse_sku", "file": "feed/skus.py"}],
    "root_cause": {"commit": "0123abc", "author": "priya@example.com"},
}

INGEST_EXAMPLES = [
    OpenApiExample("One finding", value=_EXAMPLE_FINDING, request_only=True),
    OpenApiExample(
        "A batch",
        value=[_EXAMPLE_FINDING, {**_EXAMPLE_FINDING, "external_id": "det-2026-0002"}],
        request_only=True,
    ),
    OpenApiExample(
        "Batch result",
        value={"created": [41, 42], "existing": [17], "errors": []},
        response_only=True,
        status_codes=["201", "200"],
    ),
    OpenApiExample(
        "Invalid batch",
        value={
            "detail": "1 of 3 findings is invalid; nothing was written",
            "created": [],
            "existing": [],
            "errors": [
                {
                    "index": 2,
                    "field": "magnitude_pct",
                    "error": "must be greater than 0",
                    "code": "invalid",
                }
            ],
        },
        response_only=True,
        status_codes=["400"],
    ),
    OpenApiExample(
        "Conflicting resend",
        value={
            "detail": "(source 'regression-detector', external_id 'det-2026-0001') is already "
            "finding 17 with a different body; a resend must be identical, and a new finding "
            "needs a new external_id",
            "created": [],
            "existing": [],
            "errors": [
                {
                    "index": 0,
                    "field": "external_id",
                    "error": "(source 'regression-detector', external_id 'det-2026-0001') is "
                    "already finding 17 with a different body; ...",
                    "code": "conflict",
                    "finding": 17,
                }
            ],
        },
        response_only=True,
        status_codes=["409"],
    ),
    OpenApiExample(
        "Bad signature",
        value={
            "detail": "X-Wattson-Signature does not match the body for source "
            "'regression-detector': sign the exact bytes sent, with that source's secret"
        },
        response_only=True,
        status_codes=["401"],
    ),
    OpenApiExample(
        "Manager",
        value={
            "detail": "Only ingest service accounts, reviewers and skill-admins may post findings."
        },
        response_only=True,
        status_codes=["403"],
    ),
    OpenApiExample(
        "Too large",
        value={
            "detail": "The body is larger than 5242880 bytes: send smaller batches "
            "(at most 1000 findings each)."
        },
        response_only=True,
        status_codes=["413"],
    ),
]

INGEST_SUCCESS = PolymorphicProxySerializer(
    component_name="IngestResponse",
    serializers=[FindingSerializer, IngestBatchSerializer],
    resource_type_field_name=None,
)
