"""Fixes delivered as pull / merge requests (PullRequest) and the proposal statuses their fate
sets: shipped (merged) and abandoned (closed unmerged). The funnel's "approved" now counts
those too: reinstall the rollup triggers and recount (see 0016).
"""

import django.db.models.deletion
from django.db import migrations, models

from reviews import rollups


def reinstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in [*rollups.install_sql(vendor), *rollups.rebuild_sql(vendor)]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0020_measurements"),
    ]

    operations = [
        migrations.AlterField(
            model_name="proposal",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "In review"),
                    ("approved", "Approved"),
                    ("rejected", "Rejected"),
                    ("changes_requested", "Changes requested"),
                    ("superseded", "Superseded"),
                    ("stale", "Stale (no longer applies)"),
                    ("acknowledged", "Acknowledged"),
                    ("shipped", "Shipped (merged)"),
                    ("abandoned", "Abandoned (closed unmerged)"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="PullRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "host",
                    models.CharField(
                        choices=[("github", "GitHub"), ("gitlab", "GitLab")], max_length=10
                    ),
                ),
                ("api_url", models.CharField(max_length=500)),
                ("project", models.CharField(max_length=500)),
                ("branch", models.CharField(max_length=200)),
                ("base_branch", models.CharField(max_length=200)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Waiting to open"),
                            ("open", "Open"),
                            ("merged", "Merged"),
                            ("closed", "Closed unmerged"),
                            ("failed", "Could not open"),
                        ],
                        default="queued",
                        max_length=10,
                    ),
                ),
                ("number", models.PositiveIntegerField(blank=True, null=True)),
                ("url", models.CharField(blank=True, max_length=1000)),
                ("reviewer_login", models.CharField(blank=True, max_length=200)),
                ("reviewer_note", models.CharField(blank=True, max_length=500)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("last_checked_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "proposal",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="pull_request",
                        to="reviews.proposal",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["status", "next_attempt_at"], name="pullrequest_status_next"
                    ),
                    models.Index(
                        fields=["host", "project", "number"], name="pullrequest_host_number"
                    ),
                ],
            },
        ),
        migrations.RunPython(reinstall, migrations.RunPython.noop),
    ]
