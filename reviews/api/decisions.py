"""Proposals and decisions API: read a proposal, post a decision through the review gate.

The POST calls reviews.services.decisions.proposal_decide, exactly what the page and
`manage.py decide` call, so the API enforces the same rules (roles, pins, self-approval, veto,
override, race) with the same messages.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reviews.models import Decision, Proposal
from reviews.roles import user_roles
from reviews.selectors.proposals import proposal_get_for_user, proposal_get_with_decisions
from reviews.services.decisions import DecisionError, proposal_decide, proposal_diff_sha256


class CanReadOrDecide(BasePermission):
    """GET for any Wattson role; POST (decide) for reviewers and skill-admins only."""

    def has_permission(self, request, view) -> bool:
        roles = user_roles(request.user)
        if request.method in SAFE_METHODS:
            self.message = "Your account has no Wattson role."
            return roles.can_read
        self.message = "Only reviewers and skill-admins can decide on proposals."
        return roles.can_act


class DecisionSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.get_username", read_only=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "proposal",
            "revision",
            "diff_sha256",
            "base_commit",
            "reviewer",
            "verdict",
            "reason",
            "comment",
            "is_override",
            "override_reason",
            "dismissed",
            "created_at",
        ]
        read_only_fields = fields


class ValidationSerializer(serializers.Serializer):
    applies = serializers.BooleanField()
    tests_passed = serializers.BooleanField(allow_null=True)
    bench_before_s = serializers.FloatField(allow_null=True)
    bench_after_s = serializers.FloatField(allow_null=True)
    bench_parent_s = serializers.FloatField(
        allow_null=True, help_text="Regressions: the benchmark before the root cause"
    )
    measured_recovery = serializers.FloatField(allow_null=True)


class ProposalSerializer(serializers.ModelSerializer):
    skill = serializers.CharField(source="skill_slug", read_only=True)
    skill_version = serializers.IntegerField(
        source="skill_version.number", read_only=True, allow_null=True, default=None
    )
    diff_sha256 = serializers.SerializerMethodField()
    validation = serializers.SerializerMethodField()
    validation_passed = serializers.BooleanField(read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "finding",
            "revision",
            "status",
            "is_current",
            "skill",
            "skill_version",
            "backend",
            "is_analysis",
            "diff",
            "diff_sha256",
            "base_commit",
            "rationale",
            "risks",
            "estimated_watts",
            "measured_watts",
            "validation",
            "validation_passed",
            "branch_name",
            "branch_commit",
            "stale_reason",
            "created_at",
            "decided_at",
            "decisions",
        ]
        read_only_fields = fields

    def get_diff_sha256(self, proposal: Proposal) -> str:
        return proposal_diff_sha256(proposal)

    @extend_schema_field(ValidationSerializer)
    def get_validation(self, proposal: Proposal) -> dict:
        return proposal.validation_figures()


class DecisionInputSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Decision.Verdict.choices)
    reason = serializers.ChoiceField(
        choices=Decision.Reason.choices, required=False, allow_blank=True, default=""
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=10000, trim_whitespace=True
    )
    override_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=4000
    )
    revision = serializers.IntegerField(
        min_value=1, help_text="The revision you reviewed (pins the decision)."
    )
    diff_sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$", help_text="sha256 of the diff you reviewed (pins the decision)."
    )


class ProposalDetail(APIView):
    permission_classes = [CanReadOrDecide]

    @extend_schema(
        responses={
            200: ProposalSerializer,
            403: OpenApiResponse(description="no Wattson role"),
            404: OpenApiResponse(description="no such proposal"),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        proposal = proposal_get_with_decisions(user=request.user, proposal_id=pk)
        return Response(ProposalSerializer(proposal).data)


DecisionResult = inline_serializer(
    name="DecisionResult",
    fields={
        "proposal": serializers.IntegerField(),
        "status": serializers.CharField(),
        "decision": DecisionSerializer(),
    },
)
DecisionErrorBody = inline_serializer(
    name="DecisionError",
    fields={
        "detail": serializers.CharField(),
        # A refusal by role (403 before the gate runs) carries only the detail.
        "code": serializers.CharField(required=False),
    },
)


class ProposalDecisions(APIView):
    permission_classes = [CanReadOrDecide]

    @extend_schema(
        responses={
            200: DecisionSerializer(many=True),
            403: OpenApiResponse(description="no Wattson role"),
            404: OpenApiResponse(description="no such proposal"),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        proposal = proposal_get_with_decisions(user=request.user, proposal_id=pk)
        return Response(DecisionSerializer(proposal.decisions.all(), many=True).data)

    @extend_schema(
        request=DecisionInputSerializer,
        responses={
            201: DecisionResult,
            400: DecisionErrorBody,
            403: DecisionErrorBody,
            404: OpenApiResponse(description="no such proposal"),
            409: DecisionErrorBody,
            422: DecisionErrorBody,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
        payload = DecisionInputSerializer(data=request.data)
        if not payload.is_valid():
            return Response(
                {"detail": payload.errors, "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST
            )
        data = payload.validated_data
        try:
            decision = proposal_decide(
                proposal=proposal,
                actor=request.user,
                verdict=data["verdict"],
                reason=data["reason"],
                comment=data["comment"],
                override_reason=data["override_reason"],
                expected_diff_sha256=data["diff_sha256"],
                expected_revision=data["revision"],
            )
        except DecisionError as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
        proposal.refresh_from_db(fields=["status"])
        return Response(
            {
                "proposal": proposal.pk,
                "status": proposal.status,
                "decision": DecisionSerializer(decision).data,
            },
            status=status.HTTP_201_CREATED,
        )


urlpatterns = [
    path("proposals/<int:pk>/", ProposalDetail.as_view(), name="api-proposal"),
    path(
        "proposals/<int:pk>/decisions/", ProposalDecisions.as_view(), name="api-proposal-decisions"
    ),
]
