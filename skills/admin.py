"""Skill admin: edit skills (each change makes an immutable version), see their review record."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from skills.models import VERSIONED_FIELDS, Skill, SkillStats, SkillVersion


class CodemodFilter(admin.SimpleListFilter):
    """Which codemod a skill runs, or none (diagnosis-only)."""

    title = "codemod"
    parameter_name = "codemod"

    def lookups(self, request, model_admin):
        names = (
            Skill.objects.exclude(codemod="")
            .order_by("codemod")
            .values_list("codemod", flat=True)
            .distinct()
        )
        return [("__none__", "none (diagnosis only)"), *((name, name) for name in names)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == "__none__":
            return queryset.filter(codemod="")
        return queryset.filter(codemod=value)


class SkillVersionInline(admin.TabularInline):
    """The version history: read-only, because proposals pin the version they were made with."""

    model = SkillVersion
    extra = 0
    can_delete = False
    ordering = ("-number",)
    fields = ("number", "name", "side", "codemod", "expected_recovery", "created_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class SkillStatsInline(admin.TabularInline):
    """Review outcomes per skill and per version; maintained by skills.services, never typed in."""

    model = SkillStats
    extra = 0
    can_delete = False
    verbose_name_plural = "review statistics (all versions, then per version)"
    fields = (
        "version",
        "approved",
        "rejected",
        "changes_requested",
        "acceptance_rate",
        "wilson_lower",
        "banked_watts",
        "median_decision_seconds",
        "rejection_reasons",
        "updated_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The skill-wide row (version null) first, then newest version first.
        return (
            super()
            .get_queryset(request)
            .select_related("version")
            .order_by(F("version__number").desc(nulls_first=True))
        )

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    # Eight columns, the related figures in one cell each, so the list fits 800 px and 1,366 px
    # (with templates/admin/skills/skill/change_list.html's stylesheet); the filters and the
    # change form still have every field.
    list_display = (
        "slug",
        "name",
        "side",
        "codemod_or_diagnosis",
        "state",
        "current_version_number",
        "quality",
        "owner",
    )
    list_filter = ("side", "enabled", "preferred_backend", "needs_attention", CodemodFilter)
    search_fields = ("slug", "name", "description", "owner", "codemod")
    readonly_fields = (
        "needs_attention",
        "created_at",
        "updated_at",
        "current_version_number",
    )
    fieldsets = (
        (None, {"fields": ("slug", "name", "side", "description", "owner", "enabled")}),
        # Not part of a version: changing it makes no new SkillVersion.
        ("Solving", {"fields": ("preferred_backend",)}),
        (
            "How it works",
            {"fields": ("trigger", "instructions", "mitigation", "codemod", "expected_recovery")},
        ),
        (
            "Record",
            {"fields": ("needs_attention", "current_version_number", "created_at", "updated_at")},
        ),
    )
    inlines = (SkillStatsInline, SkillVersionInline)
    actions = ("enable_skills", "disable_skills")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("stats", "versions")

    @staticmethod
    def _overall(skill: Skill) -> SkillStats | None:
        return next((s for s in skill.stats.all() if s.version_id is None), None)

    @admin.display(description="codemod")
    def codemod_or_diagnosis(self, skill: Skill) -> str:
        return skill.codemod or "— diagnosis only"

    @admin.display(description="version")
    def current_version_number(self, skill: Skill) -> str:
        numbers = [v.number for v in skill.versions.all()]
        return f"v{max(numbers)}" if numbers else "—"

    @admin.display(description="state")
    def state(self, skill: Skill) -> str:
        """Enabled or not, the preferred backend, and the attention flag, in one cell."""
        parts = ["enabled" if skill.enabled else "disabled"]
        if skill.preferred_backend:
            parts.append(f"prefers {skill.preferred_backend}")
        if skill.needs_attention:
            parts.append("needs attention")
        return " · ".join(parts)

    @admin.display(description="quality")
    def quality(self, skill: Skill) -> str:
        """Acceptance, its Wilson lower bound and the watts banked, in one cell."""
        if self._overall(skill) is None:
            return "no decisions yet"
        return (
            f"{self.acceptance(skill)} accepted · Wilson ≥ {self.wilson_lower(skill)} · "
            f"{self.banked_watts(skill)} W banked"
        )

    @admin.display(description="acceptance")
    def acceptance(self, skill: Skill) -> str:
        stats = self._overall(skill)
        if stats is None or stats.acceptance_rate is None:
            return "—"
        decided = stats.approved + stats.rejected
        return f"{stats.acceptance_rate:.0%} of {decided}"

    @admin.display(description="Wilson lower bound")
    def wilson_lower(self, skill: Skill) -> str:
        stats = self._overall(skill)
        return "—" if stats is None or stats.wilson_lower is None else f"{stats.wilson_lower:.2f}"

    @admin.display(description="banked W")
    def banked_watts(self, skill: Skill) -> str:
        stats = self._overall(skill)
        return "—" if stats is None else f"{stats.banked_watts:,.0f}"

    @admin.action(description="Enable selected skills", permissions=["change"])
    def enable_skills(self, request: HttpRequest, queryset: QuerySet[Skill]) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected skills", permissions=["change"])
    def disable_skills(self, request: HttpRequest, queryset: QuerySet[Skill]) -> None:
        self._set_enabled(request, queryset, enabled=False)

    def _set_enabled(
        self, request: HttpRequest, queryset: QuerySet[Skill], *, enabled: bool
    ) -> None:
        changed = 0
        for skill in queryset.filter(enabled=not enabled):
            skill.enabled = enabled
            # `enabled` is not versioned: the solver's choice changes, the skill's content not.
            skill.save(update_fields=["enabled", "updated_at"])
            self.log_change(request, skill, "Enabled" if enabled else "Disabled")
            changed += 1
        word = "enabled" if enabled else "disabled"
        self.message_user(
            request,
            ngettext("%(count)d skill %(word)s.", "%(count)d skills %(word)s.", changed)
            % {"count": changed, "word": word},
            messages.SUCCESS,
        )


@admin.register(SkillVersion)
class SkillVersionAdmin(admin.ModelAdmin):
    """Versions are immutable: viewable, never added, changed or deleted here."""

    list_display = ("skill", "number", "name", "codemod", "expected_recovery", "created_at")
    list_filter = ("side", "codemod")
    search_fields = ("skill__slug", "name")
    readonly_fields = ("skill", "number", *VERSIONED_FIELDS, "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
