"""Benchmark histories and profiles, posted by ingest accounts as the files teams already have.

The body is the file itself (`curl --data-binary @results.json`); what it is comes in the query
string. The same readers and services as `manage.py import_history` / `import_profile` run
behind it: idempotent, all or nothing, a 400 naming the bad field, a 409 for a re-send whose
values differ.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reviews.api.finding_ingest import IngestRateThrottle, PayloadTooLarge
from reviews.detection.histories import FORMATS, HistoryError, history_read, parse_time
from reviews.detection.profiles import PROFILE_FORMATS, profile_read
from reviews.roles import user_roles
from reviews.services.measurements import (
    MeasurementConflict,
    history_import,
    measured_service,
    profile_import,
    repository_for,
)


class IsIngestAccount(BasePermission):
    """Posting measurements is for detectors' service accounts (the ingest role) only."""

    def has_permission(self, request, view) -> bool:
        roles = user_roles(request.user)
        if request.method in SAFE_METHODS:
            # Readers learn the method is POST (405); the role is what a POST needs.
            self.message = "Your account has no Wattson role."
            return roles.can_read or roles.ingest
        self.message = "Only ingest service accounts may post benchmark histories and profiles."
        return roles.ingest


class RawFileParser(BaseParser):
    """The body as bytes, whatever its content type, refused past the ingest size limit."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = settings.WATTSON_INGEST_MAX_BYTES
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise PayloadTooLarge(limit)
        return data


class MeasurementErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="the bad field, column or parameter")
    where = serializers.CharField(help_text="where in the file: 'line 3', 'upload.json', or ''")
    error = serializers.CharField()


class HistoryImportSerializer(serializers.Serializer):
    series = serializers.ListField(child=serializers.IntegerField())
    series_created = serializers.IntegerField()
    points_created = serializers.IntegerField()
    points_existing = serializers.IntegerField()


class ProfileImportSerializer(serializers.Serializer):
    window = serializers.IntegerField()
    created = serializers.BooleanField()
    functions = serializers.IntegerField()


def _error(exc: HistoryError) -> Response:
    code = status.HTTP_409_CONFLICT if isinstance(exc, MeasurementConflict) else 400
    return Response({"field": exc.field, "where": exc.where, "error": exc.message}, status=code)


def _with_file(body: bytes, suffix: str, read):
    # The formats' own libraries (asv, pyperf, pstats) read paths, not bytes.
    with tempfile.TemporaryDirectory(prefix="wattson-upload-") as directory:
        file = Path(directory) / f"upload{suffix}"
        # No body at all reaches here as DRF's empty dict: an empty file, refused by its reader.
        file.write_bytes(body if isinstance(body, bytes) else b"")
        return read(file)


# What parse_time reads, as the schema can say it (an RFC 3339 time, or unix seconds).
_TIME = {
    "oneOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "pattern": "^[0-9]{1,10}([.][0-9]{1,6})?$"},
    ]
}
_COMMON = [
    OpenApiParameter("service", str, description="default: the repository's service"),
    OpenApiParameter("repository", str, description="a registered repository's name"),
]
_ERRORS = {
    400: OpenApiResponse(MeasurementErrorSerializer, description="names the bad field"),
    403: OpenApiResponse(description="not an ingest account"),
    409: OpenApiResponse(MeasurementErrorSerializer, description="re-sent with other values"),
    413: OpenApiResponse(description="larger than the ingest limit"),
}


class FileFormatNegotiation(DefaultContentNegotiation):
    """Here ?format= names the uploaded file's format, not a response renderer: DRF would
    otherwise look for a renderer called "asv" and answer every upload 404."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type


class _FileUpload(APIView):
    """A raw file posted by an ingest account, counted against the ingest rate."""

    content_negotiation_class = FileFormatNegotiation
    permission_classes = [IsIngestAccount]
    parser_classes = [RawFileParser]
    throttle_classes = [IngestRateThrottle]
    throttle_scope = "ingest"


class HistoryUpload(_FileUpload):
    @extend_schema(
        summary="Post a benchmark history file (asv result file, pyperf JSON, "
        "pytest-benchmark --benchmark-json, Otava CSV, or CSV time,commit,series,value)",
        parameters=[
            OpenApiParameter("format", str, required=True, enum=list(FORMATS)),
            OpenApiParameter("better", str, enum=["lower", "higher"]),
            *_COMMON,
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={201: HistoryImportSerializer, 200: HistoryImportSerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        query = request.query_params
        fmt = query.get("format", "")
        better = query.get("better", "lower")
        try:
            if fmt not in FORMATS:
                raise HistoryError("format", f"give ?format= one of {', '.join(FORMATS)}")
            if better not in ("lower", "higher"):
                raise HistoryError("better", "lower or higher")
            repository = repository_for(query.get("repository"))
            suffix = ".csv" if fmt in ("csv", "otava") else ".json"
            rows = _with_file(request.data, suffix, lambda file: history_read(file, fmt))
            result = history_import(
                rows=rows,
                service=measured_service(service=query.get("service"), repository=repository),
                repository=repository,
                source=fmt,
                actor=request.user,
                better=better,
            )
        except HistoryError as exc:
            return _error(exc)
        code = status.HTTP_201_CREATED if result.points_created else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)


class ProfileUpload(_FileUpload):
    @extend_schema(
        summary="Post one profile (folded stacks / py-spy raw, speedscope JSON, cProfile pstats) "
        "of a service over a time window",
        parameters=[
            OpenApiParameter("format", str, required=True, enum=list(PROFILE_FORMATS)),
            OpenApiParameter("start", _TIME, required=True, description="ISO 8601 or unix seconds"),
            OpenApiParameter("end", _TIME, required=True, description="ISO 8601 or unix seconds"),
            OpenApiParameter("commit", str, description="the commit deployed in the window"),
            *_COMMON,
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={201: ProfileImportSerializer, 200: ProfileImportSerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        query = request.query_params
        fmt = query.get("format", "")
        try:
            if fmt not in PROFILE_FORMATS:
                raise HistoryError("format", f"give ?format= one of {', '.join(PROFILE_FORMATS)}")
            start = parse_time(query.get("start", ""), field="start")
            end = parse_time(query.get("end", ""), field="end")
            repository = repository_for(query.get("repository"))
            data = _with_file(request.data, "." + fmt, lambda file: profile_read(file, fmt))
            window, created = profile_import(
                data=data,
                service=measured_service(service=query.get("service"), repository=repository),
                repository=repository,
                start=start,
                end=end,
                commit=query.get("commit", "").strip()[:64],
                source=fmt,
                actor=request.user,
            )
        except HistoryError as exc:
            return _error(exc)
        body = {"window": window.pk, "created": created, "functions": window.shares.count()}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


urlpatterns = [
    path("histories/", HistoryUpload.as_view(), name="api-histories"),
    path("profiles/", ProfileUpload.as_view(), name="api-profiles"),
]
