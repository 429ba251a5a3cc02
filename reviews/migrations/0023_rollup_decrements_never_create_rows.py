"""Rollup triggers take a row's counts away only from a rollup row that exists.

Before, a delete (or the old side of an update) upserted negative counts, so deleting base rows
after their rollup table had been emptied (a test database's flush on SQLite, a TRUNCATE)
created negative rollup rows that every later report added in. Reinstall the triggers and
recount, which also removes negative rows such a delete already left.
"""

from django.db import migrations

from reviews import rollups


def reinstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in [*rollups.install_sql(vendor), *rollups.rebuild_sql(vendor)]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0022_repository_url_fix_delivery"),
    ]

    operations = [
        migrations.RunPython(reinstall, migrations.RunPython.noop),
    ]
