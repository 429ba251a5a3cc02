"""Findings, repositories, services, solve runs, proposals, decisions and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from skills import savings
from skills.solver.types import Validation


def _default_fleet_servers() -> int:
    return settings.WATTSON_DEFAULT_FLEET_SERVERS


def _default_watts_per_server() -> float:
    return settings.WATTSON_DEFAULT_WATTS_PER_SERVER


def _default_pue() -> float:
    return settings.WATTSON_DEFAULT_PUE


def _default_price_per_kwh() -> float:
    return settings.WATTSON_DEFAULT_PRICE_PER_KWH


class Repository(models.Model):
    name = models.CharField(max_length=200, unique=True)
    path = models.CharField(max_length=1000, help_text="Local path of a git work tree.")
    default_branch = models.CharField(max_length=200, default="main")
    test_cmd = models.CharField(max_length=1000, blank=True)
    bench_cmd = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    name = models.CharField(max_length=200, unique=True)
    team = models.CharField(max_length=200, blank=True)
    repository = models.ForeignKey(
        Repository, on_delete=models.SET_NULL, null=True, blank=True, related_name="services"
    )
    fleet_servers = models.PositiveIntegerField(default=_default_fleet_servers)
    watts_per_server = models.FloatField(
        default=_default_watts_per_server, validators=[MinValueValidator(0)]
    )
    pue = models.FloatField(default=_default_pue, validators=[MinValueValidator(1.0)])
    price_per_kwh = models.FloatField(
        default=_default_price_per_kwh, validators=[MinValueValidator(0)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def watts_for_share(self, share_pct: float, recovery: float = 1.0) -> float:
        """skills.savings.fleet_watts for this service's fleet."""
        return savings.fleet_watts(
            servers=self.fleet_servers,
            watts_per_server=self.watts_per_server,
            pue=self.pue,
            share_pct=share_pct,
            recovery=recovery,
        )


class Source(models.Model):
    """A detector or survey sending findings. Its HMAC secret lives in the environment."""

    class Backend(models.TextChoices):
        DEFAULT = "", "Default (settings)"
        OFFLINE = "offline", "Offline codemods"
        ANTHROPIC = "anthropic", "Anthropic"

    name = models.CharField(max_length=100, unique=True)
    auto_solve = models.BooleanField(default=True)
    backend = models.CharField(max_length=20, choices=Backend.choices, blank=True, default="")
    # The accounts that may post findings for this source (reviews.services.sources): the first
    # account to post for a new source is bound to it; more are added in the admin.
    accounts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="ingest_sources"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Finding(models.Model):
    class Kind(models.TextChoices):
        REGRESSION = "regression", "Regression"
        OPPORTUNITY = "opportunity", "Opportunity"

    class Status(models.TextChoices):
        NEW = "new", "New"
        SOLVING = "solving", "Solving"
        IN_REVIEW = "in_review", "In review"
        NO_FIX = "no_fix", "No fix found"
        FAILED = "failed", "Solver failed"
        FIXED = "fixed", "Fix approved"
        REJECTED = "rejected", "Fix rejected"
        CLOSED = "closed", "Closed"

    class SolveWaiting(models.TextChoices):
        NONE = "", "—"
        CAP = "cap", "waiting: cap"
        DUPLICATE = "duplicate", "duplicate of an open finding"

    # Review workflow order, what needs a reviewer first: the queue's status sort.
    STATUS_ORDER = (
        Status.IN_REVIEW,
        Status.SOLVING,
        Status.NEW,
        Status.FAILED,
        Status.NO_FIX,
        Status.REJECTED,
        Status.FIXED,
        Status.CLOSED,
    )

    kind = models.CharField(max_length=12, choices=Kind.choices)
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=200)
    # sha256 of the canonical ingest payload: a resend with a different body is a conflict.
    payload_sha256 = models.CharField(max_length=64)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="findings")
    repository = models.ForeignKey(
        Repository, on_delete=models.SET_NULL, null=True, blank=True, related_name="findings"
    )
    title = models.CharField(max_length=300)
    metric = models.CharField(max_length=50)
    magnitude_pct = models.FloatField(
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    baseline = models.FloatField(null=True, blank=True)
    current = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    functions = models.JSONField(default=list)
    root_cause_commit = models.CharField(max_length=64, blank=True)
    root_cause_title = models.CharField(max_length=500, blank=True)
    root_cause_author = models.EmailField(max_length=254, blank=True)
    root_cause_url = models.CharField(max_length=1000, blank=True)
    pattern = models.CharField(max_length=80, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    # The status's place in STATUS_ORDER, kept by the database so the queue's status sort reads
    # an index instead of sorting every matching row (bench/queue.py).
    status_rank = models.GeneratedField(
        expression=models.Case(
            *(
                models.When(status=value, then=models.Value(rank))
                for rank, value in enumerate(STATUS_ORDER)
            ),
            default=models.Value(len(STATUS_ORDER)),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_findings",
    )
    # Watts at stake: fleet × watts × PUE × magnitude share; set on ingest so the queue can
    # sort on it in the database.
    estimated_watts = models.FloatField(default=0.0)
    # Who filed it (the API token's user, the UI's user; null from the CLI): never its approver.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_findings",
    )
    # Why auto-solve has not queued it (reviews.services.solve_admission): "" or a reason.
    solve_waiting = models.CharField(
        max_length=12, choices=SolveWaiting.choices, blank=True, default=""
    )
    solve_waiting_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="finding_unique_source_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="finding_status_created"),
            models.Index(fields=["kind", "-created_at"], name="finding_kind_created"),
            models.Index(fields=["service", "-created_at"], name="finding_service_created"),
            models.Index(fields=["assignee", "-created_at"], name="finding_assignee_created"),
            models.Index(fields=["-estimated_watts"], name="finding_watts"),
            models.Index(fields=["-created_at", "-id"], name="finding_created"),
            # Covers every queue filter and sort key, so a filtered count or a filtered page of
            # ids never reads table rows (bench/queue.py: 100k findings, p95 within 150 ms).
            models.Index(
                fields=[
                    "status",
                    "kind",
                    "service",
                    "assignee",
                    "source",
                    "created_at",
                    "estimated_watts",
                    "magnitude_pct",
                ],
                name="finding_queue_filters",
            ),
            models.Index(
                fields=["status_rank", "-created_at", "-id", "status"], name="finding_status_rank"
            ),
            # The source filter with any sort, index-only (the unique (source, external_id)
            # index would read every matching row to sort them).
            models.Index(
                fields=[
                    "source",
                    "-created_at",
                    "-id",
                    "estimated_watts",
                    "magnitude_pct",
                    "status_rank",
                ],
                name="finding_source_sorts",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("reviews:finding", args=[self.pk])

    @property
    def is_regression(self) -> bool:
        return self.kind == self.Kind.REGRESSION


class SolveRun(models.Model):
    """One attempt to solve a finding. The database, not the broker, is the source of truth."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        NO_FIX = "no_fix", "No fix"
        FAILED = "failed", "Failed"

    class BackendOrigin(models.TextChoices):
        # reviews.services.solving.resolve_backend: the first of these that names a backend.
        REQUEST = "request", "chosen in the fix request"
        SOURCE = "source", "the finding's source"
        SKILL = "skill", "the top-ranked skill's preference"
        SETTING = "setting", "WATTSON_SOLVER_BACKEND"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="solve_runs")
    # The proposal revision this run will produce.
    revision = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The backend that runs (after a fallback, the one that actually ran).
    backend = models.CharField(max_length=20, default="offline")
    # Blank on runs from before the origin was recorded. A "setting" run may still take its
    # top-ranked skill's preference when the worker starts it.
    backend_origin = models.CharField(
        max_length=10, choices=BackendOrigin.choices, blank=True, default=""
    )
    # Why this backend, in words for the page: who chose it, and any fallback.
    backend_note = models.CharField(max_length=300, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requested_solve_runs",
    )
    reviewer_comment = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A queued or running run past this is re-enqueued by the sweeper.
    deadline_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # [{"tool", "arguments", "summary", "duration_ms", "error"}]
    trace = models.JSONField(default=list, blank=True)
    # The LLM conversation, when the anthropic backend ran.
    transcript = models.JSONField(default=list, blank=True)
    # [{"skill", "reason"}] for each skill that was tried and refused.
    refusals = models.JSONField(default=list, blank=True)
    # {"input_tokens", "output_tokens", "cache_read_input_tokens", ..., "cost_usd"}
    usage = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # At most one active run per finding: a second "Request fix" joins the first.
            models.UniqueConstraint(
                fields=["finding"],
                condition=models.Q(status__in=["queued", "running"]),
                name="solverun_one_active_per_finding",
            )
        ]
        indexes = [models.Index(fields=["status", "deadline_at"], name="solverun_sweep")]

    def __str__(self) -> str:
        return f"run {self.pk} of finding {self.finding_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class Proposal(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "In review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        SUPERSEDED = "superseded", "Superseded"
        STALE = "stale", "Stale (no longer applies)"

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="proposals")
    revision = models.PositiveIntegerField()
    solve_run = models.OneToOneField(
        SolveRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="proposal"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    is_current = models.BooleanField(default=True)
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
    # table without joins: see reviews/reports.py and bench/reports.py.
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
            # Percentiles read ranks straight off these (reviews/reports.py).
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

    @property
    def validation_passed(self) -> bool:
        """An analysis has nothing to validate; otherwise Validation.passed, the one rule."""
        return (
            self.is_analysis
            or Validation(applies=self.applies, tests_passed=self.tests_passed).passed
        )


class Decision(models.Model):
    class Verdict(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        REQUEST_CHANGES = "request_changes", "Request changes"

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
    # without joining a million proposals (reviews/reports.py).
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


class AuditEvent(models.Model):
    """Append-only: every status change and decision leaves a row."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    verb = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=60)
    old_state = models.CharField(max_length=40, blank=True)
    new_state = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label or 'system'} {self.verb} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")


# --- Report rollups ------------------------------------------------------------------------
# Maintained by database triggers (migration 0006_report_rollups) on every insert, update and
# delete of proposals, decisions and findings, whatever code path writes them, so the savings
# report reads a few thousand rollup rows instead of scanning a million proposals.
# `manage.py rebuild_report_rollups` recomputes them from scratch and must agree.


class SavingsWeek(models.Model):
    """Current proposals by activity week (Monday, UTC) and key: count and watts."""

    week = models.DateField()
    service_id = models.BigIntegerField(default=0)  # 0: no service
    skill_slug = models.CharField(max_length=80)
    source = models.CharField(max_length=100)
    kind = models.CharField(max_length=12)
    status = models.CharField(max_length=20)
    proposals = models.IntegerField(default=0)
    watts = models.FloatField(default=0.0)
    measured_watts = models.FloatField(default=0.0)
    measured_count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week", "service_id", "skill_slug", "source", "kind", "status"],
                name="savingsweek_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.week} {self.status} {self.proposals}"


class DecisionWeek(models.Model):
    """Decisions (not dismissed) by week (Monday, UTC) and key."""

    week = models.DateField()
    service_id = models.BigIntegerField(default=0)
    skill_slug = models.CharField(max_length=80)
    skill_version_number = models.IntegerField(default=0)  # 0: unversioned
    source = models.CharField(max_length=100)
    kind = models.CharField(max_length=12)
    verdict = models.CharField(max_length=20)
    reason = models.CharField(max_length=30)
    decisions = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "week",
                    "service_id",
                    "skill_slug",
                    "skill_version_number",
                    "source",
                    "kind",
                    "verdict",
                    "reason",
                ],
                name="decisionweek_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.week} {self.verdict} {self.decisions}"


class FunnelWeek(models.Model):
    """Findings by ingest week (Monday, UTC) and what became of them."""

    week = models.DateField()
    service_id = models.BigIntegerField(default=0)
    source = models.CharField(max_length=100)
    kind = models.CharField(max_length=12)
    skill_slug = models.CharField(max_length=80)  # "" for the findings' own counts
    ingested = models.IntegerField(default=0)
    no_fix = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    proposed = models.IntegerField(default=0)
    approved = models.IntegerField(default=0)
    applied = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["week", "service_id", "source", "kind", "skill_slug"],
                name="funnelweek_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.week} ingested {self.ingested}"
