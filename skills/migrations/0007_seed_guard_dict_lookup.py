"""Seed the `guard-dict-lookup` skill (skills/catalog_idioms.py) where it is missing."""

from django.db import migrations

from skills.catalog_idioms import seed_missing


def forwards(apps, schema_editor):
    seed_missing(apps, ["guard-dict-lookup"])


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0006_lock_trigger_acquire_only"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
