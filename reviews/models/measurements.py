"""What teams already measure: benchmark histories (Series, Point) and profiles (ProfileWindow,
FunctionShare). Change-point detection reads these; findings cite them in their evidence."""

from __future__ import annotations

from django.db import models

from reviews.models.config import Repository


class Series(models.Model):
    """One benchmark (or one function's profile share) of one service, over commits and time."""

    class Better(models.TextChoices):
        LOWER = "lower", "Lower is better (time, CPU, bytes)"
        HIGHER = "higher", "Higher is better (throughput)"

    name = models.CharField(max_length=300)
    service = models.CharField(max_length=200)
    repository = models.ForeignKey(
        Repository, on_delete=models.SET_NULL, null=True, blank=True, related_name="series"
    )
    unit = models.CharField(max_length=40, blank=True)
    # The format it was read from: asv, pyperf, pytest-benchmark, otava, csv, profile.
    source = models.CharField(max_length=40)
    better = models.CharField(max_length=6, choices=Better.choices, default=Better.LOWER)
    # The function a profile series measures ("" for a benchmark): groups findings by stack.
    function = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="series_unique_service_name")
        ]
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"{self.service}: {self.name}"


class Point(models.Model):
    """One measurement: a value at a time, of a commit. Re-sent points change nothing."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="points")
    time = models.DateTimeField()
    commit = models.CharField(max_length=64, blank=True)
    value = models.FloatField()

    class Meta:
        ordering = ["series", "time", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "time", "commit"], name="point_unique_series_time_commit"
            )
        ]

    def __str__(self) -> str:
        return f"{self.series_id} @ {self.time:%Y-%m-%d %H:%M} {self.commit[:12]}: {self.value}"


class ProfileWindow(models.Model):
    """One profile of one service over a time window, as each function's share of the samples."""

    service = models.CharField(max_length=200)
    repository = models.ForeignKey(
        Repository, on_delete=models.SET_NULL, null=True, blank=True, related_name="profiles"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    commit = models.CharField(max_length=64, blank=True)
    # folded, speedscope, pstats
    source = models.CharField(max_length=40)
    # Samples (folded, speedscope sampled), or seconds (pstats, speedscope evented).
    total = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service", "-start"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "start", "end"], name="profile_unique_service_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.start:%Y-%m-%d %H:%M}..{self.end:%H:%M}"


class FunctionShare(models.Model):
    """A function's share of a profile window: inclusive (with its callees) and self."""

    window = models.ForeignKey(ProfileWindow, on_delete=models.CASCADE, related_name="shares")
    function = models.CharField(max_length=500)
    file = models.CharField(max_length=1000, blank=True)
    inclusive_share = models.FloatField()
    self_share = models.FloatField()

    class Meta:
        ordering = ["window", "-inclusive_share"]
        constraints = [
            models.UniqueConstraint(
                fields=["window", "function", "file"], name="share_unique_window_function"
            )
        ]

    def __str__(self) -> str:
        return f"{self.function}: {self.inclusive_share:.1%}"
