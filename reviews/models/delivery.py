"""Delivering an approved fix to a URL repository's remote: one row per approval."""

from __future__ import annotations

from django.db import models

from reviews.models.config import Repository
from reviews.models.proposals import Decision


class FixDelivery(models.Model):
    """The push of an approval's fix branch to the repository's remote, and how it went.

    Made in the approval's own transaction, so no approval of a URL repository is without one.
    A failed push leaves the approval standing: the sweeper retries it (on whichever machine
    runs the sweeper, from `bundle`), and the reason is shown until it succeeds or gives up.
    Code that acts on a pushed branch (a pull request) hooks into
    reviews.services.fix_delivery.POST_PUSH_HOOKS.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to push"
        PUSHED = "pushed", "Pushed"
        FAILED = "failed", "Push failed (gave up)"

    decision = models.OneToOneField(Decision, on_delete=models.CASCADE, related_name="delivery")
    repository = models.ForeignKey(
        Repository, on_delete=models.SET_NULL, null=True, related_name="deliveries"
    )
    # The remote as it was when approved (credential-free, like Repository.url).
    url = models.CharField(max_length=1000)
    branch = models.CharField(max_length=255)
    commit = models.CharField(max_length=64)
    # The default branch's head the fix was committed on; `bundle` holds the commit on top of it.
    base_commit = models.CharField(max_length=64)
    bundle = models.BinaryField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "fix deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.branch} → {self.url} ({self.status})"
