"""Decisions are facts: a decided revision stays counted in the reports while a later one waits.

Adds Proposal.in_reports (None: counted when current, so every existing row keeps its meaning),
the "acknowledged" status and the "useful" / "not useful" verdicts for analyses. The rollup
triggers now count the revision in_reports says and never an analysis: reinstall them and
recount (adding a column may remake the table on SQLite, which drops its triggers; see 0015).
"""

from django.db import migrations, models

from reviews import rollups


def reinstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in [*rollups.install_sql(vendor), *rollups.rebuild_sql(vendor)]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0015_report_rollups_reinstall"),
    ]

    operations = [
        migrations.AddField(
            model_name="proposal",
            name="in_reports",
            field=models.BooleanField(blank=True, default=None, null=True),
        ),
        migrations.AlterField(
            model_name="decision",
            name="verdict",
            field=models.CharField(
                choices=[
                    ("approve", "Approve"),
                    ("reject", "Reject"),
                    ("request_changes", "Request changes"),
                    ("useful", "Useful analysis"),
                    ("not_useful", "Analysis not useful"),
                ],
                max_length=20,
            ),
        ),
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
                ],
                default="pending",
                max_length=20,
            ),
        ),
        migrations.RunPython(reinstall, migrations.RunPython.noop),
    ]
