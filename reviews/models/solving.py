"""A solve run: one attempt of the solver at a finding."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from reviews.models.findings import Finding


class SolveRun(models.Model):
    """One attempt to solve a finding. The database, not the broker, is the source of truth."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        NO_FIX = "no_fix", "No fix"
        FAILED = "failed", "Failed"
        # A reviewer decided the revision this run would replace while it ran: its result is
        # discarded (reviews.services.solve_runs.solve_run_cancel).
        CANCELLED = "cancelled", "Cancelled"

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
