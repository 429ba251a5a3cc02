"""Findings API serializers: a finding as the API shows it, ingest results and errors, and the
list's query filters with their documented 400 body."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from reviews.models import Finding


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
