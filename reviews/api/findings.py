"""Findings API: ingest (POST one finding or a batch), list and read.

Thin views: the body is parsed and validated by reviews.services.ingest, the same code
`manage.py ingest` runs. The view adds only what is HTTP: size limit, signature, status codes.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.core.cache import caches
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, AuthenticationFailed, NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from reviews import metrics
from reviews.api.auth import (
    SIGNATURE_HEADER,
    CanIngestOrRead,
    CanReadFindings,
    SignatureError,
    signature_verify,
)
from reviews.models import Finding
from reviews.selectors.findings import QueueFilters, finding_get_for_user, findings_queue
from reviews.services.ingest import IngestResult, finding_ingest
from reviews.services.ingest_validation import (
    COLUMN_MAX_LENGTHS,
    EVIDENCE_MAX_BYTES,
    PayloadError,
    finding_schema,
    payload_parse,
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The body is larger than {limit} bytes: send smaller batches "
            f"(at most {settings.WATTSON_INGEST_MAX_BATCH} findings each)."
        )


def _check_declared_length(request: Any, limit: int) -> None:
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
            _check_declared_length(request, limit)
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(limit)
        return data


# --- serializers (output, and documentation of errors) ----------------------------------------


class RootCauseSerializer(serializers.Serializer):
    commit = serializers.CharField()
    title = serializers.CharField()
    author = serializers.CharField()
    url = serializers.CharField()


class FindingSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="name", read_only=True)
    repository = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    root_cause = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id",
            "kind",
            "status",
            "source",
            "external_id",
            "service",
            "repository",
            "title",
            "metric",
            "magnitude_pct",
            "baseline",
            "current",
            "confidence",
            "detected_at",
            "functions",
            "root_cause",
            "pattern",
            "evidence",
            "assignee",
            "estimated_watts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RootCauseSerializer(allow_null=True))
    def get_root_cause(self, finding: Finding) -> dict[str, str] | None:
        if not finding.root_cause_commit:
            return None
        return {
            "commit": finding.root_cause_commit,
            "title": finding.root_cause_title,
            "author": finding.root_cause_author,
            "url": finding.root_cause_url,
        }


class IngestErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        allow_null=True,
        help_text="Position in the batch (0 for a single finding); null for the whole body.",
    )
    field = serializers.CharField(help_text="Dotted path of the bad field, e.g. functions[0].file")
    error = serializers.CharField()
    code = serializers.ChoiceField(
        choices=["invalid", "invalid_text", "conflict", "source_refused"]
    )
    finding = serializers.IntegerField(
        required=False, allow_null=True, help_text="On a conflict: the finding holding the key."
    )


class IngestBatchSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.IntegerField())
    existing = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Ids of findings already stored with this (source, external_id) and body.",
    )
    errors = IngestErrorSerializer(many=True)


class IngestFailureSerializer(IngestBatchSerializer):
    detail = serializers.CharField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


# Query parameters are refused with a NUL character (no stored name holds one, and PostgreSQL
# cannot compare with one); the schema says so, so a client learns it before sending. One or
# more characters: drf-spectacular documents the empty value (no filter) as its own oneOf arm.
NO_NUL_PATTERN = "^[^\\u0000]+$"


def filter_text_schema(max_length: int) -> dict[str, Any]:
    """A text filter's documented schema; the empty value (no filter) is its own oneOf arm."""
    return {"type": "string", "pattern": NO_NUL_PATTERN, "maxLength": max_length}


@extend_schema_field(filter_text_schema(200))
class FilterTextField(serializers.CharField):
    """A name to filter by; empty means no filter, as on the queue page."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_blank=True, max_length=200, **kwargs)


class FindingFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Finding.Kind.choices, required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=Finding.Status.choices, required=False, allow_blank=True
    )
    service = FilterTextField(help_text="Service name")
    source = FilterTextField(help_text="Source (detector) name")


class FilterErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="The refused parameters, each with its reasons.",
    )


def filter_errors(errors: dict[str, Any]) -> dict[str, Any]:
    """A 400 body for bad query parameters: a one-line detail, then every reason by name."""
    named = "; ".join(f"{name}: {' '.join(map(str, reasons))}" for name, reasons in errors.items())
    return {"detail": f"invalid query parameters: {named}", "errors": errors}


# --- the request body, documented from the schema the service validates against ---------------


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


def _ingest_request_schema() -> dict[str, Any]:
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

_INGEST_EXAMPLES = [
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

_INGEST_SUCCESS = PolymorphicProxySerializer(
    component_name="IngestResponse",
    serializers=[FindingSerializer, IngestBatchSerializer],
    resource_type_field_name=None,
)


# --- views ------------------------------------------------------------------------------------


def _sources_named(payload: Any) -> set[str]:
    items = payload if isinstance(payload, list) else [payload]
    return {
        item["source"]
        for item in items
        if isinstance(item, dict) and isinstance(item.get("source"), str)
    }


def _failure_detail(result: IngestResult) -> str:
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


class RequiredBodySchema(AutoSchema):
    """A body given as a raw JSON schema is documented as required (drf-spectacular assumes not).

    Without it the schema admits a POST with no body, which the view rightly refuses.
    """

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body = super()._get_request_body(direction)
        if body and self.method in ("POST", "PUT", "PATCH"):
            body["required"] = True
        return body


class FindingPagination(PageNumberPagination):
    """DRF's pages, except that an empty ?page= is refused like any other non-number.

    DRF reads an empty value as page 1; the schema says page is an integer, and a client that
    sent "page=" has a bug worth hearing about.
    """

    def get_page_number(self, request: Any, paginator: Any) -> Any:
        if request.query_params.get(self.page_query_param) == "":
            raise NotFound("Invalid page: page must be a number.")
        return super().get_page_number(request, paginator)


class FindingListCreate(generics.ListAPIView):
    schema = RequiredBodySchema()
    pagination_class = FindingPagination
    permission_classes = [CanIngestOrRead]
    serializer_class = FindingSerializer
    parser_classes = [RawJSONParser]
    throttle_classes = [IngestRateThrottle]
    throttle_scope = "ingest"

    def get_queryset(self):
        params = FindingFilterSerializer(data=self.request.query_params)
        if not params.is_valid():
            raise serializers.ValidationError(filter_errors(params.errors))
        values = params.validated_data
        filters = QueueFilters(
            kind=values.get("kind", ""),
            status=values.get("status", ""),
            service_name=values.get("service", ""),
            source=values.get("source", ""),
        )
        return findings_queue(user=self.request.user, filters=filters)

    @extend_schema(
        summary="List findings",
        description="Newest first, 50 a page. Any Wattson role may read.",
        parameters=[FindingFilterSerializer],
        responses={
            200: FindingSerializer(many=True),
            400: OpenApiResponse(FilterErrorSerializer, description="A filter value is not valid."),
            401: OpenApiResponse(DetailSerializer, description="Not signed in / no token."),
            403: OpenApiResponse(DetailSerializer, description="No Wattson role."),
            404: OpenApiResponse(DetailSerializer, description="No such page."),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Ingest one finding or a batch",
        description=(
            "Body: one finding or a list of up to "
            f"{settings.WATTSON_INGEST_MAX_BATCH} (schema: finding.schema.json), at most "
            f"{settings.WATTSON_INGEST_MAX_BYTES} bytes. Idempotent on (source, external_id): "
            "the same body again answers 200 with the stored finding; a different body under "
            "the same key answers 409. A batch is all or nothing. When the source has a shared "
            f"secret, send `{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "
            "'<t>.<body>'>` (within "
            f"{settings.WATTSON_SIGNATURE_TOLERANCE_S} s of the server's clock). Token auth: "
            "`Authorization: Token <key>`; accounts in the 'ingest' group, reviewers and "
            "skill-admins may post.\n\n"
            "Signing in Python:\n\n"
            "    t = str(int(time.time()))\n"
            "    mac = hmac.new(secret.encode(), t.encode() + b'.' + body, hashlib.sha256)\n"
            f"    headers['{SIGNATURE_HEADER}'] = f't={{t}},v1={{mac.hexdigest()}}'"
        ),
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Required when a source in the body has a shared secret.",
            )
        ],
        request={"application/json": _ingest_request_schema()},
        responses={
            201: OpenApiResponse(
                _INGEST_SUCCESS,
                description="Created: the finding (single) or the batch result.",
            ),
            200: OpenApiResponse(
                _INGEST_SUCCESS,
                description="Already stored with the same body: nothing changed.",
            ),
            400: OpenApiResponse(
                IngestFailureSerializer,
                description="Invalid JSON or invalid findings (every bad field, by index); "
                "nothing written.",
            ),
            401: OpenApiResponse(
                DetailSerializer,
                description="No credentials, or a missing, wrong or stale signature.",
            ),
            403: OpenApiResponse(DetailSerializer, description="The account may not post."),
            409: OpenApiResponse(
                IngestFailureSerializer,
                description="Same (source, external_id) with a different body; nothing written.",
            ),
            413: OpenApiResponse(DetailSerializer, description="Body too large."),
            415: OpenApiResponse(DetailSerializer, description="Not application/json."),
        },
        examples=_INGEST_EXAMPLES,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _check_declared_length(request, settings.WATTSON_INGEST_MAX_BYTES)
        body = request.data
        if not isinstance(body, bytes) or not body.strip():
            return self._failure(
                IngestResult(
                    errors=[
                        {
                            "index": None,
                            "field": "",
                            "error": "the body is empty: send a finding or a list of findings",
                            "code": "invalid",
                        }
                    ]
                )
            )
        try:
            payload = payload_parse(body)
        except PayloadError as exc:
            return self._failure(
                IngestResult(
                    errors=[{"index": None, "field": "", "error": str(exc), "code": "invalid"}]
                )
            )
        try:
            signature_verify(
                header=request.headers.get(SIGNATURE_HEADER),
                body=body,
                sources=_sources_named(payload),
            )
        except SignatureError as exc:
            raise AuthenticationFailed(str(exc)) from None

        result = finding_ingest(payload=payload, actor=request.user)
        if not result.ok:
            return self._failure(result)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        if result.is_batch:
            return Response(result.as_dict(), status=code)
        finding_id = (result.created or result.existing)[0]
        finding = Finding.objects.select_related("service", "repository", "assignee").get(
            pk=finding_id
        )
        return Response(FindingSerializer(finding).data, status=code)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any):
        # Every refusal counts, whoever answered it: validation, signature, throttle, size.
        if request.method == "POST" and response.status_code >= 400:
            metrics.ingest_rejected(status=response.status_code)
        return super().finalize_response(request, response, *args, **kwargs)

    def _failure(self, result: IngestResult) -> Response:
        code = status.HTTP_409_CONFLICT if result.is_conflict else status.HTTP_400_BAD_REQUEST
        if result.source_refused:
            code = status.HTTP_403_FORBIDDEN
        return Response(
            {
                "detail": _failure_detail(result),
                "created": [],
                "existing": [],
                "errors": result.errors,
            },
            status=code,
        )


@extend_schema(
    summary="Read one finding",
    responses={
        200: FindingSerializer,
        401: OpenApiResponse(DetailSerializer, description="Not signed in / no token."),
        403: OpenApiResponse(DetailSerializer, description="No Wattson role."),
        404: OpenApiResponse(DetailSerializer, description="No such finding."),
    },
)
class FindingDetail(generics.RetrieveAPIView):
    permission_classes = [CanReadFindings]
    serializer_class = FindingSerializer

    def get_object(self) -> Finding:
        return finding_get_for_user(user=self.request.user, finding_id=self.kwargs["pk"])
