"""Line comments: threads anchored to lines of a proposal's diff, and the comments in them.

A thread lives on the revision it is anchored to. When a new revision of the finding is stored,
each open thread moves to it (reviews.services.comments.comments_carry_over): re-anchored where
its lines' text is found again, or marked outdated and shown with the context it was written on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from reviews.models.proposals import Proposal


class ReviewThread(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Side(models.TextChoices):
        # "old": the base commit's line numbers (removed or context lines); "new": the fix's.
        OLD = "old", "Old"
        NEW = "new", "New"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="threads")
    # The revision the thread was started on; it differs from `proposal` once carried over.
    origin_proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="originated_threads"
    )
    path = models.CharField(max_length=1000)
    side = models.CharField(max_length=3, choices=Side.choices, default=Side.NEW)
    start_line = models.PositiveIntegerField()
    end_line = models.PositiveIntegerField()
    # The anchored lines' text, one per line: how the thread is found again in a later revision.
    line_text = models.TextField(blank=True)
    # A few numbered lines up to the anchor, as first commented on: shown when outdated.
    context = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Carried to a revision whose diff no longer has the anchored text.
    is_outdated = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_threads"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resolved_threads",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["path", "side", "start_line", "id"]
        indexes = [models.Index(fields=["proposal", "status"], name="thread_proposal_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_line__gte=models.F("start_line")),
                name="thread_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"thread {self.pk} on {self.location}"

    @property
    def location(self) -> str:
        """path:line or path:start-end, as the solver and the list read it."""
        lines = (
            str(self.start_line)
            if self.start_line == self.end_line
            else f"{self.start_line}-{self.end_line}"
        )
        return f"{self.path}:{lines}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ReviewComment(models.Model):
    """One message in a thread; the first one opens it. Plain text, always escaped."""

    thread = models.ForeignKey(ReviewThread, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_comments"
    )
    text = models.TextField()
    # The revision the comment was written on (a thread may span several).
    revision = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} in thread {self.thread_id}"
