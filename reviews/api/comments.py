"""Line-comment threads API: list and start threads on a proposal revision, reply, resolve, re-open.

Each POST calls the same reviews.services.comments write as the page, so the rules (roles,
anchoring, text limits, state moves) and their messages are the same.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reviews.models import ReviewComment, ReviewThread
from reviews.roles import user_roles
from reviews.selectors.comments import proposal_threads, thread_get_for_user
from reviews.selectors.proposals import proposal_get_for_user
from reviews.services.comments import (
    TEXT_MAX_CHARS,
    CommentError,
    thread_create,
    thread_reopen,
    thread_reply,
    thread_resolve,
)


class CanReadOrComment(BasePermission):
    """GET for any Wattson role; POST (comment) for reviewers and skill-admins only."""

    def has_permission(self, request, view) -> bool:
        roles = user_roles(request.user)
        if request.method in SAFE_METHODS:
            self.message = "Your account has no Wattson role."
            return roles.can_read
        self.message = "Only reviewers and skill-admins comment on proposals; managers read."
        return roles.can_act


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.get_username", read_only=True)

    class Meta:
        model = ReviewComment
        fields = ["id", "author", "text", "revision", "created_at"]
        read_only_fields = fields


class ThreadSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.get_username", read_only=True)
    resolved_by = serializers.CharField(
        source="resolved_by.get_username", read_only=True, allow_null=True, default=None
    )
    origin_revision = serializers.IntegerField(source="origin_proposal.revision", read_only=True)
    comments = CommentSerializer(many=True, read_only=True)

    class Meta:
        model = ReviewThread
        fields = [
            "id",
            "proposal",
            "origin_revision",
            "path",
            "side",
            "start_line",
            "end_line",
            "line_text",
            "status",
            "is_outdated",
            "author",
            "created_at",
            "resolved_by",
            "resolved_at",
            "comments",
        ]
        read_only_fields = fields


class ThreadInputSerializer(serializers.Serializer):
    path = serializers.CharField(max_length=1000, help_text="The file, as the diff names it.")
    side = serializers.ChoiceField(
        choices=ReviewThread.Side.choices,
        default=ReviewThread.Side.NEW,
        help_text="new: the fixed file's line numbers; old: the base file's.",
    )
    start_line = serializers.IntegerField(min_value=1)
    end_line = serializers.IntegerField(
        min_value=1, required=False, help_text="Last line of a range (default: start_line)."
    )
    text = serializers.CharField(max_length=TEXT_MAX_CHARS)


class ReplyInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=TEXT_MAX_CHARS)


CommentErrorBody = inline_serializer(
    name="CommentError",
    fields={
        "detail": serializers.CharField(),
        # A refusal by role (403 before the service runs) carries only the detail.
        "code": serializers.CharField(required=False),
    },
)
_ERRORS = {
    400: CommentErrorBody,
    403: CommentErrorBody,
    404: OpenApiResponse(description="no such proposal or thread"),
    409: CommentErrorBody,
}


def _invalid(payload: serializers.Serializer) -> Response:
    return Response(
        {"detail": payload.errors, "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST
    )


def _refused(exc: CommentError) -> Response:
    return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)


class ProposalThreads(APIView):
    permission_classes = [CanReadOrComment]

    @extend_schema(
        responses={
            200: ThreadSerializer(many=True),
            403: OpenApiResponse(description="no Wattson role"),
            404: OpenApiResponse(description="no such proposal"),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
        listing = proposal_threads(user=request.user, proposal=proposal)
        return Response(ThreadSerializer(listing.threads, many=True).data)

    @extend_schema(request=ThreadInputSerializer, responses={201: ThreadSerializer, **_ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        proposal = proposal_get_for_user(user=request.user, proposal_id=pk)
        payload = ThreadInputSerializer(data=request.data)
        if not payload.is_valid():
            return _invalid(payload)
        data = payload.validated_data
        try:
            thread = thread_create(
                proposal=proposal,
                actor=request.user,
                path=data["path"],
                side=data["side"],
                start_line=data["start_line"],
                end_line=data.get("end_line"),
                text=data["text"],
            )
        except CommentError as exc:
            return _refused(exc)
        thread = thread_get_for_user(user=request.user, thread_id=thread.pk)
        return Response(ThreadSerializer(thread).data, status=status.HTTP_201_CREATED)


class ThreadReplies(APIView):
    permission_classes = [CanReadOrComment]

    @extend_schema(request=ReplyInputSerializer, responses={201: CommentSerializer, **_ERRORS})
    def post(self, request: Request, thread_id: int) -> Response:
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        payload = ReplyInputSerializer(data=request.data)
        if not payload.is_valid():
            return _invalid(payload)
        try:
            comment = thread_reply(
                thread=thread, actor=request.user, text=payload.validated_data["text"]
            )
        except CommentError as exc:
            return _refused(exc)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class _ThreadMove(APIView):
    """POST with no body: move the thread, answer it as it now is."""

    permission_classes = [CanReadOrComment]
    write = None

    @extend_schema(request=None, responses={200: ThreadSerializer, **_ERRORS})
    def post(self, request: Request, thread_id: int) -> Response:
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        try:
            type(self).write(thread=thread, actor=request.user)
        except CommentError as exc:
            return _refused(exc)
        thread = thread_get_for_user(user=request.user, thread_id=thread_id)
        return Response(ThreadSerializer(thread).data)


class ThreadResolve(_ThreadMove):
    write = staticmethod(thread_resolve)


class ThreadReopen(_ThreadMove):
    write = staticmethod(thread_reopen)


urlpatterns = [
    path("proposals/<int:pk>/threads/", ProposalThreads.as_view(), name="api-proposal-threads"),
    path("threads/<int:thread_id>/replies/", ThreadReplies.as_view(), name="api-thread-replies"),
    path("threads/<int:thread_id>/resolve/", ThreadResolve.as_view(), name="api-thread-resolve"),
    path("threads/<int:thread_id>/reopen/", ThreadReopen.as_view(), name="api-thread-reopen"),
]
