"""Review admin: set-up data is editable; what the pipeline and reviewers produced is read-only.

Repositories, services (fleet and power figures) and sources are configuration: edit freely.
Findings arrive through ingest; only their assignee is editable here. Solve runs, proposals,
decisions and the audit log change only through services (request fix, decide, ...), which keep
skill statistics and the audit trail right, so the admin shows them without edit buttons.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from reviews.models import (
    AuditEvent,
    Decision,
    Finding,
    FixDelivery,
    Proposal,
    Repository,
    Service,
    SolveRun,
    Source,
)
from reviews.selectors.skill_decisions import latest_rejections
from reviews.services.assignment import finding_assign
from reviews.services.fix_delivery import fix_delivery_retry
from skills.admin import SkillAdmin
from skills.models import Skill


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only: no add, change or delete, whoever asks."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    """A path or a clone URL (Repository.clean checks which, and names the field at fault)."""

    list_display = ("name", "path", "url", "default_branch", "test_cmd", "updated_at")
    search_fields = ("name", "path", "url")
    readonly_fields = ("created_at", "updated_at")
    fields = ("name", "path", "url", "default_branch", "test_cmd", "bench_cmd", *readonly_fields)


@admin.register(FixDelivery)
class FixDeliveryAdmin(ReadOnlyAdmin):
    """Pushes of approved fix branches; one that gave up can be retried."""

    list_display = ("branch", "url", "status", "attempts", "pushed_at", "updated_at")
    list_filter = ("status",)
    exclude = ("bundle",)
    actions = ("retry_push",)

    @admin.action(description="Retry the push of the selected deliveries that gave up")
    def retry_push(self, request: HttpRequest, queryset) -> None:
        retried = 0
        for delivery in queryset.filter(status=FixDelivery.Status.FAILED):
            fix_delivery_retry(delivery=delivery, actor=request.user)
            retried += 1
        self.message_user(request, f"{retried} push(es) queued again.")


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "team",
        "repository",
        "fleet_servers",
        "watts_per_server",
        "pue",
        "price_per_kwh",
    )
    list_filter = ("team",)
    list_select_related = ("repository",)
    search_fields = ("name", "team")
    autocomplete_fields = ("repository",)
    readonly_fields = ("created_at",)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    """Per-source solving: which backend, and whether findings are solved on ingest.

    A source's backend overrides WATTSON_SOLVER_BACKEND for its findings; "Request fix" can still
    pick one for a single run.
    """

    list_display = ("name", "backend", "auto_solve", "created_at")
    list_editable = ("backend", "auto_solve")
    list_filter = ("backend", "auto_solve")
    search_fields = ("name",)
    readonly_fields = ("created_at",)


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "kind",
        "status",
        "service",
        "estimated_watts",
        "assignee",
        "created_at",
    )
    list_filter = ("kind", "status", "source", "service")
    list_select_related = ("service", "assignee")
    search_fields = ("title", "external_id", "root_cause_commit")
    date_hierarchy = "created_at"
    # A COUNT(*) over every finding on each changelist page is slow at fleet scale.
    show_full_result_count = False
    autocomplete_fields = ("assignee",)
    fields = (
        ("kind", "status"),
        ("source", "external_id"),
        ("service", "repository"),
        "title",
        ("metric", "magnitude_pct", "estimated_watts"),
        ("baseline", "current", "confidence"),
        "detected_at",
        "functions",
        ("root_cause_commit", "root_cause_author"),
        ("root_cause_title", "root_cause_url"),
        "pattern",
        "evidence",
        "assignee",
        ("created_at", "updated_at"),
        "payload_sha256",
    )

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # Everything but the assignee: the rest is what the detector sent, or the workflow's.
        return [f.name for f in Finding._meta.concrete_fields if f.name != "assignee"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # findings arrive through ingest (API or `manage.py ingest`)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # proposals, decisions and savings reports hang off findings

    def save_model(self, request: HttpRequest, obj: Finding, form, change: bool) -> None:
        # The assignee is the only editable field, and assigning is a service (role, audit).
        finding_assign(finding=obj, assignee=obj.assignee, actor=request.user, via="admin")


@admin.register(SolveRun)
class SolveRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "finding",
        "revision",
        "status",
        "backend",
        "backend_origin",
        "attempts",
        "queued_at",
    )
    list_filter = ("status", "backend", "backend_origin")
    list_select_related = ("finding",)
    search_fields = ("finding__title", "error")
    show_full_result_count = False


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "finding",
        "revision",
        "status",
        "is_current",
        "skill_slug",
        "estimated_watts",
        "applies",
        "tests_passed",
        "created_at",
    )
    list_filter = ("status", "is_current", "skill_slug", "backend", "applies")
    list_select_related = ("finding",)
    search_fields = ("finding__title", "skill_slug", "branch_name")
    show_full_result_count = False


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("id", "proposal", "revision", "verdict", "reason", "reviewer", "created_at")
    list_filter = ("verdict", "reason", "is_override", "dismissed")
    list_select_related = ("proposal", "reviewer")
    search_fields = ("comment", "reviewer__username")
    show_full_result_count = False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor_label",
        "verb",
        "target_type",
        "target_id",
        "old_state",
        "new_state",
    )
    list_filter = ("verb", "target_type")
    search_fields = ("target_id", "actor_label", "verb")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return super().get_queryset(request).select_related("actor")


class SkillWithRejectionsAdmin(SkillAdmin):
    """The skill admin plus what reviewers said when they rejected it.

    Registered from here because rejections are decisions, which skills never reads.
    """

    readonly_fields = (*SkillAdmin.readonly_fields, "latest_rejections_display")
    fieldsets = (
        *SkillAdmin.fieldsets,
        ("Latest rejections", {"fields": ("latest_rejections_display",)}),
    )

    @admin.display(description="latest rejections")
    def latest_rejections_display(self, skill: Skill) -> str:
        # Reviewers' words, escaped by format_html: the skill's owner reads why it was refused.
        rows = latest_rejections(skill.slug, 10) if skill.pk else []
        if not rows:
            return "—"
        items = format_html_join(
            "",
            "<li>{} · {} · {} (proposal {} r{}): {}</li>",
            (
                (
                    row["created_at"].strftime("%Y-%m-%d %H:%M"),
                    row["reviewer"],
                    row["reason_label"],
                    row["proposal_id"],
                    row["revision"],
                    row["comment"] or "no comment",
                )
                for row in rows
            ),
        )
        return format_html("<ul>{}</ul>", items)


admin.site.unregister(Skill)
admin.site.register(Skill, SkillWithRejectionsAdmin)
