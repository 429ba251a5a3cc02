"""A fix delivered to its code host: the pull request (GitHub) or merge request (GitLab).

One row per approved proposal whose repository lives on a known host. It is the database truth
for the delivery: a host error leaves the row queued with the error and the time of the next
attempt (reviews.services.code_hosts), so nothing is lost when a worker, the network or the
host fails; the approval itself never depends on it.
"""

from __future__ import annotations

from django.db import models

from reviews.models.proposals import Proposal


class PullRequest(models.Model):
    class Host(models.TextChoices):
        GITHUB = "github", "GitHub"
        GITLAB = "gitlab", "GitLab"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to open"
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        CLOSED = "closed", "Closed unmerged"
        # Retries exhausted or a permanent refusal (no token, no such project): a person acts.
        FAILED = "failed", "Could not open"

    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="pull_request")
    host = models.CharField(max_length=10, choices=Host.choices)
    # The API root it was opened through (github.com's, an Enterprise server's, a GitLab's).
    api_url = models.CharField(max_length=500)
    # "owner/name" on GitHub, the namespace path on GitLab.
    project = models.CharField(max_length=500)
    branch = models.CharField(max_length=200)
    base_branch = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    number = models.PositiveIntegerField(null=True, blank=True)
    url = models.CharField(max_length=1000, blank=True)
    # The host user review was requested from; blank when none matched (then mentioned).
    reviewer_login = models.CharField(max_length=200, blank=True)
    reviewer_note = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="pullrequest_status_next"),
            models.Index(fields=["host", "project", "number"], name="pullrequest_host_number"),
        ]

    def __str__(self) -> str:
        where = f"#{self.number}" if self.number else self.branch
        return f"{self.get_host_display()} {self.project} {where}"

    @property
    def noun(self) -> str:
        """What the host calls it."""
        return "merge request" if self.host == self.Host.GITLAB else "pull request"
