"""Skills: encoded engineering expertise, versioned, with quality statistics."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction

from skills.catalog import VERSIONED_FIELDS

__all__ = ["VERSIONED_FIELDS", "Skill", "SkillStats", "SkillVersion"]


class Skill(models.Model):
    class Side(models.TextChoices):
        OFFENSE = "offense", "Offense (opportunities)"
        DEFENSE = "defense", "Defense (regressions)"
        BOTH = "both", "Both"

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    side = models.CharField(max_length=10, choices=Side.choices, default=Side.BOTH)
    description = models.TextField(blank=True)
    # {"kinds": ["regression"], "metrics": ["cpu"], "file_globs": ["*.py"],
    #  "symbol_pattern": "regex", "needs_root_cause": false}
    trigger = models.JSONField(default=dict, blank=True)
    instructions = models.TextField(blank=True, help_text="Markdown: diagnosis steps and tools.")
    mitigation = models.TextField(blank=True, help_text="Markdown: how the fix is made.")
    codemod = models.CharField(
        max_length=80,
        blank=True,
        help_text="Registered offline transformer; blank for a diagnosis-only skill.",
    )
    expected_recovery = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    enabled = models.BooleanField(default=True)
    # Not versioned: it says how the solver should run, not what the skill teaches, and each
    # proposal records the backend that made it. Used only when neither the request nor the
    # finding's source chose one (reviews.services.solving.resolve_backend).
    preferred_backend = models.CharField(
        max_length=20,
        choices=[
            ("", "No preference"),
            ("offline", "Offline codemods"),
            ("anthropic", "Anthropic agent"),
        ],
        blank=True,
        default="",
        help_text="Solver backend to use when this is the top-ranked skill for a finding and "
        "neither the fix request nor the finding's source chose one.",
    )
    owner = models.CharField(max_length=200, blank=True)
    needs_attention = models.BooleanField(
        default=False, help_text="Set by review statistics: low acceptance after enough decisions."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def save(self, *args, **kwargs) -> None:
        """Saving a changed skill records an immutable SkillVersion in the same transaction."""
        with transaction.atomic():
            super().save(*args, **kwargs)
            latest = self.versions.order_by("-number").first()
            snapshot = {field: getattr(self, field) for field in VERSIONED_FIELDS}
            if latest is None or latest.snapshot() != snapshot:
                SkillVersion.objects.create(
                    skill=self, number=(latest.number + 1 if latest else 1), **snapshot
                )

    @property
    def is_diagnosis_only(self) -> bool:
        return not self.codemod

    @property
    def current_version(self) -> SkillVersion | None:
        return self.versions.order_by("-number").first()


class SkillVersion(models.Model):
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    side = models.CharField(max_length=10, choices=Skill.Side.choices)
    description = models.TextField(blank=True)
    trigger = models.JSONField(default=dict, blank=True)
    instructions = models.TextField(blank=True)
    mitigation = models.TextField(blank=True)
    codemod = models.CharField(max_length=80, blank=True)
    expected_recovery = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["skill", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["skill", "number"], name="skillversion_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.skill.slug} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Skill versions are immutable; edit the skill to make a new version.")
        super().save(*args, **kwargs)

    def snapshot(self) -> dict:
        return {field: getattr(self, field) for field in VERSIONED_FIELDS}


class SkillStats(models.Model):
    """Review outcomes for a skill (version null) or one of its versions.

    Maintained atomically by skills.services.skill_stats_record; `rebuild_skill_stats`
    recomputes them from the decisions and must agree.
    """

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="stats")
    version = models.ForeignKey(
        SkillVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="stats"
    )
    approved = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    changes_requested = models.PositiveIntegerField(default=0)
    rejection_reasons = models.JSONField(default=dict, blank=True)
    acceptance_rate = models.FloatField(null=True, blank=True)
    wilson_lower = models.FloatField(null=True, blank=True)
    banked_watts = models.FloatField(default=0.0)
    median_decision_seconds = models.FloatField(null=True, blank=True)
    # Every decision's seconds from proposal to decision, kept sorted: the median is then
    # recomputed exactly, and rebuild_skill_stats produces the identical list.
    decision_seconds = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["skill"],
                condition=models.Q(version__isnull=True),
                name="skillstats_one_per_skill",
            ),
            models.UniqueConstraint(
                fields=["skill", "version"],
                condition=models.Q(version__isnull=False),
                name="skillstats_one_per_version",
            ),
        ]
        verbose_name_plural = "skill stats"

    def __str__(self) -> str:
        suffix = f" v{self.version.number}" if self.version_id else ""
        return f"stats {self.skill.slug}{suffix}"
