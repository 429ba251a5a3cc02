"""Proposals (a fix, one per revision) and the decisions reviewers make on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from reviews.models.config import Service
from reviews.models.findings import Finding
from reviews.models.solving import SolveRun
from skills.solver.speedup import describe
from skills.solver.types import Validation


class Proposal(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "In review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        SUPERSEDED = "superseded", "Superseded"
        STALE = "stale", "Stale (no longer applies)"
        # An analysis (no diff) a reviewer read and judged useful or not: never a fix.
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        # An approved fix's pull / merge request was merged on its code host, or closed
        # unmerged (reviews.services.code_hosts).
        SHIPPED = "shipped", "Shipped (merged)"
        ABANDONED = "abandoned", "Abandoned (closed unmerged)"

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="proposals")
    revision = models.PositiveIntegerField()
    solve_run = models.OneToOneField(
        SolveRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="proposal"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    is_current = models.BooleanField(default=True)
    # Which revision the reports count for its finding (reviews.reports.scope.COUNTED): None
    # means "when current". A revision a person approved or rejected stays counted (True) while
    # a later revision waits, and stops (False) once a newer approval or rejection replaces it.
    in_reports = models.BooleanField(null=True, blank=True, default=None)
    skill_version = models.ForeignKey(
        "skills.SkillVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
    )
    skill_slug = models.CharField(max_length=80, blank=True)
    backend = models.CharField(max_length=20, default="offline")
    model_name = models.CharField(max_length=100, blank=True)
    # An analysis from a diagnosis-only skill has no diff.
    is_analysis = models.BooleanField(default=False)
    diff = models.TextField(blank=True)
    diff_sha256 = models.CharField(max_length=64, blank=True)
    base_commit = models.CharField(max_length=64, blank=True)
    rationale = models.TextField(blank=True)
    risks = models.TextField(blank=True)
    expected_recovery = models.FloatField(null=True, blank=True)
    measured_recovery = models.FloatField(null=True, blank=True)
    estimated_watts = models.FloatField(default=0.0)
    measured_watts = models.FloatField(null=True, blank=True)
    applies = models.BooleanField(default=False)
    apply_log = models.TextField(blank=True)
    tests_passed = models.BooleanField(null=True, blank=True)
    test_log = models.TextField(blank=True)
    bench_before_s = models.FloatField(null=True, blank=True)
    bench_after_s = models.FloatField(null=True, blank=True)
    # Regressions: the benchmark at the root-cause commit's parent; measured_recovery is then
    # the share of the regression undone (skills/solver/types.py).
    bench_parent_s = models.FloatField(null=True, blank=True)
    bench_log = models.TextField(blank=True)
    # How validation judged "faster" (skills.solver.speedup.Judgement.as_dict): the verdict,
    # the one-sided test's p-value, the significance level, the minimum speed-up and the
    # number of interleaved pairs. None when nothing was benchmarked. (Nullable, no default:
    # SQLite then adds the column in place instead of remaking the table and its triggers.)
    bench_judgement = models.JSONField(null=True, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    cost_usd = models.FloatField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requested_proposals",
    )
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="edited_proposals",
    )
    branch_name = models.CharField(max_length=200, blank=True)
    branch_commit = models.CharField(max_length=64, blank=True)
    stale_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Copied from the finding (which never changes them) so savings reports aggregate one
    # table without joins: see reviews/reports/ and bench/reports.py.
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=12, blank=True)
    finding_created_at = models.DateTimeField(null=True, blank=True)
    # Seconds from the finding's ingest to this proposal (the "time to proposal" report).
    seconds_to_propose = models.FloatField(null=True, blank=True)
    # A proposal is dated by its decision, or by its creation while it waits.
    activity_at = models.GeneratedField(
        expression=Coalesce("decided_at", "created_at"),
        output_field=models.DateTimeField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["finding", "revision"], name="proposal_unique_revision"
            ),
            models.UniqueConstraint(
                fields=["finding"],
                condition=models.Q(is_current=True),
                name="proposal_one_current_per_finding",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="proposal_status_created"),
            models.Index(fields=["skill_slug", "status"], name="proposal_skill_status"),
            models.Index(fields=["is_current", "activity_at"], name="proposal_current_activity"),
            models.Index(fields=["finding_created_at"], name="proposal_finding_created"),
            # Percentiles read ranks straight off these (reviews/reports/timing.py).
            models.Index(
                fields=["seconds_to_propose"],
                condition=models.Q(revision=1),
                name="proposal_first_seconds",
            ),
        ]

    def __str__(self) -> str:
        return f"proposal {self.pk} (finding {self.finding_id} r{self.revision})"

    def save(self, *args, **kwargs) -> None:
        if self.finding_id and not self.kind:
            finding = self.finding
            self.service_id = finding.service_id
            self.source = finding.source
            self.kind = finding.kind
            self.finding_created_at = finding.created_at
            if self.pk is None and finding.created_at:
                created = self.created_at or timezone.now()
                self.seconds_to_propose = (created - finding.created_at).total_seconds()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("reviews:proposal", args=[self.pk])

    def validation_figures(self) -> dict:
        """What validation found, as the CLI and the API report it (spec/cli.md, extended)."""
        return {
            "applies": self.applies,
            "tests_passed": self.tests_passed,
            "bench_before_s": self.bench_before_s,
            "bench_after_s": self.bench_after_s,
            "bench_parent_s": self.bench_parent_s,
            "measured_recovery": self.measured_recovery,
        }

    def composed_version_ids(self) -> list[int]:
        """The versions of the other skills composed into this proposal's patch, in order."""
        return [row.skill_version_id for row in self.composed_skills.all() if row.skill_version_id]

    @property
    def bench_judgement_text(self) -> str:
        """How validation judged "faster": verdict, p-value, level and pairs; "" if unjudged."""
        return describe(self.bench_judgement)

    @property
    def skill_slugs(self) -> list[str]:
        """The slugs of every skill whose change is in this proposal, its own first."""
        composed = [row.skill_slug for row in self.composed_skills.all()]
        return list(dict.fromkeys([s for s in (self.skill_slug, *composed) if s]))

    @property
    def validation_passed(self) -> bool:
        """An analysis has nothing to validate; otherwise Validation.passed, the one rule."""
        return (
            self.is_analysis
            or Validation(applies=self.applies, tests_passed=self.tests_passed).passed
        )


class ProposalSkill(models.Model):
    """Another skill whose change was composed into the proposal's patch (issue #12 item 5).

    The proposal's own skill stays on Proposal.skill_version; each composed one is a row here,
    with the version it ran at, so a decision counts for every skill in the patch.
    """

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="composed_skills")
    position = models.PositiveSmallIntegerField()  # 1, 2, ...: the order the rationale names
    skill_slug = models.CharField(max_length=80)
    skill_version = models.ForeignKey(
        "skills.SkillVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="composed_proposals",
    )

    class Meta:
        ordering = ["proposal", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "position"], name="proposalskill_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.skill_slug} in proposal {self.proposal_id}"


class Decision(models.Model):
    class Verdict(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        REQUEST_CHANGES = "request_changes", "Request changes"
        # Acknowledging an analysis (a proposal without a diff): it informs, it fixes nothing.
        USEFUL = "useful", "Useful analysis"
        NOT_USEFUL = "not_useful", "Analysis not useful"

    class Reason(models.TextChoices):
        NONE = "", "—"
        INCORRECT = "incorrect", "Incorrect"
        NOT_ROOT_CAUSE = "not_root_cause", "Not the root cause"
        UNSAFE = "unsafe", "Unsafe"
        NO_GAIN = "no_measurable_gain", "No measurable gain"
        READABILITY = "readability", "Readability"
        DUPLICATE = "duplicate", "Duplicate"
        OTHER = "other", "Other"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="decisions")
    # Pinned: what exactly was reviewed.
    revision = models.PositiveIntegerField()
    diff_sha256 = models.CharField(max_length=64)
    base_commit = models.CharField(max_length=64, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True, default="")
    comment = models.TextField(blank=True)
    is_override = models.BooleanField(default=False)
    override_reason = models.TextField(blank=True)
    dismissed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Copied from the proposal when the decision is made, so reports aggregate decisions
    # without joining a million proposals (reviews/reports/quality.py).
    skill_slug = models.CharField(max_length=80, blank=True)
    skill_version_number = models.PositiveIntegerField(null=True, blank=True)
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=12, blank=True)
    # Seconds from the proposal's creation to this decision.
    decision_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["verdict", "created_at"], name="decision_verdict_created"),
            models.Index(fields=["created_at"], name="decision_created"),
            models.Index(
                fields=["decision_seconds"],
                condition=models.Q(dismissed=False),
                name="decision_live_seconds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} on proposal {self.proposal_id} by {self.reviewer_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is None and self.proposal_id:
            proposal = self.proposal
            self.skill_slug = proposal.skill_slug
            self.skill_version_number = (
                proposal.skill_version.number if proposal.skill_version_id else None
            )
            self.service_id = proposal.service_id or proposal.finding.service_id
            self.source = proposal.source or proposal.finding.source
            self.kind = proposal.kind or proposal.finding.kind
            if self.created_at is None:
                self.created_at = timezone.now()
            self.decision_seconds = (self.created_at - proposal.created_at).total_seconds()
        super().save(*args, **kwargs)
