"""Seed the `inline-trivial-helper` skill (skills/catalog_idioms.py) where it is missing."""

from django.db import migrations

from skills.catalog_idioms import seed_missing


def forwards(apps, schema_editor):
    seed_missing(apps, ["inline-trivial-helper"])


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0008_seed_map_over_generator"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
