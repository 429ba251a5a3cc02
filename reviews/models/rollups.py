"""Report rollups: weekly sums the savings report reads instead of the base tables.

Maintained by database triggers (reviews/rollups.py, installed by migrations 0006 and 0015) on
every insert, update and delete of proposals, decisions and findings, whatever code path writes
them, so the savings report reads a few thousand rollup rows instead of scanning a million
proposals. `manage.py rebuild_report_rollups` recomputes them from scratch and must agree.
"""

from __future__ import annotations

from django.db import models


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
