"""Seed the `map-over-generator` skill (skills/catalog_idioms.py) where it is missing."""

from django.db import migrations

from skills.catalog_idioms import seed_missing


def forwards(apps, schema_editor):
    seed_missing(apps, ["map-over-generator"])


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0007_seed_guard_dict_lookup"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
