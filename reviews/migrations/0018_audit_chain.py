"""The audit log becomes a hash chain (reviews.services.audit), and the shared default cache.

Adds AuditEvent.chain_seq, prev_hash and row_hash and seals every existing row, oldest first,
with the same digest the writer uses. Also creates the default cache's table (settings.CACHES:
the database cache every web process shares); createcachetable skips tables that exist.
"""

from django.core.management import call_command
from django.db import migrations, models

from reviews.models.audit import CHAIN_START, audit_row_digest

BATCH = 2000


def seal_existing(apps, schema_editor):
    AuditEvent = apps.get_model("reviews", "AuditEvent")
    prev_hash = CHAIN_START
    rows = AuditEvent.objects.using(schema_editor.connection.alias).order_by("id")
    batch = []
    for seq, row in enumerate(rows.iterator(chunk_size=BATCH), start=1):
        row.chain_seq, row.prev_hash = seq, prev_hash
        row.row_hash = prev_hash = audit_row_digest(row, prev_hash=prev_hash, chain_seq=seq)
        batch.append(row)
        if len(batch) == BATCH:
            AuditEvent.objects.bulk_update(batch, ["chain_seq", "prev_hash", "row_hash"])
            batch = []
    AuditEvent.objects.bulk_update(batch, ["chain_seq", "prev_hash", "row_hash"])


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0017_review_threads"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain_seq",
            field=models.PositiveBigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="row_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(seal_existing, migrations.RunPython.noop),
        migrations.RunPython(create_cache_tables, migrations.RunPython.noop),
    ]
