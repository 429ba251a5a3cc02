"""A finding: a regression or an opportunity a detector or profiler reported."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from reviews.models.config import Repository, Service


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
