"""GET /api/v1/reports/savings/: the reports page's numbers as JSON, same filters, same rules."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reviews.api.finding_serializers import filter_text_schema
from reviews.reports import FORMULAS, savings_report
from reviews.roles import user_roles
from reviews.views.reports import ReportFilterForm


class CanSeeReports(BasePermission):
    message = "Reports are for managers, skill-admins and reviewers."

    def has_permission(self, request, view) -> bool:
        return user_roles(request.user).can_see_reports


_bucket = inline_serializer(
    "SavingsBucket",
    {
        "watts": serializers.FloatField(help_text=FORMULAS["watts"]),
        "dollars": serializers.FloatField(help_text=f"US dollars {FORMULAS['dollars']}"),
        "measured_watts": serializers.FloatField(
            allow_null=True, help_text=FORMULAS["measured_watts"]
        ),
        "count": serializers.IntegerField(),
    },
)


def _filter_parameters() -> list[OpenApiParameter]:
    """The form's fields as the schema states them: empty means no filter, text has no NUL and
    the form's length limit (read from the form, the one home of those limits)."""
    fields = ReportFilterForm.base_fields
    empty = {"type": "string", "maxLength": 0}

    def either(schema: dict) -> dict:
        return {"oneOf": [schema, empty]}

    date = either({"type": "string", "format": "date"})
    return [
        OpenApiParameter("start", date, description="First day (inclusive)"),
        OpenApiParameter("end", date, description="Last day (inclusive), not before start"),
        *(
            OpenApiParameter(name, either(filter_text_schema(fields[name].max_length)))
            for name in ("service", "team", "skill", "source")
        ),
        OpenApiParameter("kind", {"type": "string", "enum": ["regression", "opportunity", ""]}),
    ]


class SavingsReportView(APIView):
    permission_classes = [CanSeeReports]

    @extend_schema(
        operation_id="reports_savings",
        summary="Savings report",
        description=(
            "Watts and dollars per year banked (approved; `shipped` is the part whose pull "
            "request was merged), at stake (in review) and lost (rejected, or its pull request "
            "closed unmerged), per week and broken down by service, team, skill, source and kind; "
            "the funnel; time to proposal and to decision; skill quality."
        ),
        parameters=[
            *_filter_parameters(),
        ],
        responses={
            200: inline_serializer(
                "SavingsReport",
                {
                    "filters": serializers.DictField(),
                    "banked": _bucket,
                    "shipped": _bucket,
                    "at_stake": _bucket,
                    "lost": _bucket,
                    "weekly": serializers.ListField(
                        child=serializers.DictField(),
                        help_text="Per week: each bucket's estimated watts (named by the "
                        "bucket), _measured watts, _dollars and _proposals",
                    ),
                    "weekly_by_service": serializers.ListField(
                        child=serializers.DictField(),
                        help_text="The same per service and week (the CSV's wide form)",
                    ),
                    "formulas": serializers.DictField(
                        child=serializers.CharField(), help_text="What each figure is"
                    ),
                    "breakdowns": serializers.DictField(),
                    "funnel": serializers.DictField(child=serializers.IntegerField()),
                    "no_fix_reasons": serializers.ListField(child=serializers.DictField()),
                    "times": serializers.DictField(),
                    "skills": serializers.ListField(child=serializers.DictField()),
                    "rejection_reasons": serializers.ListField(child=serializers.DictField()),
                    "needs_attention": serializers.ListField(child=serializers.CharField()),
                    "restricted_to_teams": serializers.ListField(
                        child=serializers.CharField(), allow_null=True
                    ),
                },
            ),
            400: OpenApiTypes.OBJECT,
            401: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
        },
    )
    def get(self, request: Request) -> Response:
        form = ReportFilterForm(request.query_params)
        if not form.is_valid():
            return Response({"errors": form.errors.get_json_data()}, status=400)
        report = savings_report(user=request.user, filters=form.to_filters())
        return Response(report.as_dict())


urlpatterns = [
    path("reports/savings/", SavingsReportView.as_view(), name="api-reports-savings"),
]
