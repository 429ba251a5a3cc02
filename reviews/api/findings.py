"""Findings API: ingest (POST one finding or a batch), list and read.

Thin views: the body is parsed and validated by reviews.services.ingest, the same code
`manage.py ingest` runs. The view adds only what is HTTP (reviews.api.finding_ingest): size
limit, signature, status codes. Serializers live in reviews.api.finding_serializers, the POST's
documentation in reviews.api.finding_ingest_docs.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from reviews import metrics
from reviews.api.auth import (
    SIGNATURE_HEADER,
    CanIngestOrRead,
    CanReadFindings,
    SignatureError,
    signature_verify,
)
from reviews.api.finding_ingest import (
    IngestRateThrottle,
    RawJSONParser,
    check_declared_length,
    failure_detail,
    sources_named,
)
from reviews.api.finding_ingest_docs import INGEST_EXAMPLES, INGEST_SUCCESS, ingest_request_schema
from reviews.api.finding_serializers import (
    DetailSerializer,
    FilterErrorSerializer,
    FindingFilterSerializer,
    FindingSerializer,
    IngestFailureSerializer,
    filter_errors,
)
from reviews.models import Finding
from reviews.selectors.findings import QueueFilters, finding_get_for_user, findings_queue
from reviews.services.ingest import IngestResult, finding_ingest
from reviews.services.ingest_validation import PayloadError, payload_parse


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
        request={"application/json": ingest_request_schema()},
        responses={
            201: OpenApiResponse(
                INGEST_SUCCESS,
                description="Created: the finding (single) or the batch result.",
            ),
            200: OpenApiResponse(
                INGEST_SUCCESS,
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
        examples=INGEST_EXAMPLES,
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_declared_length(request, settings.WATTSON_INGEST_MAX_BYTES)
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
                sources=sources_named(payload),
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
                "detail": failure_detail(result),
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
