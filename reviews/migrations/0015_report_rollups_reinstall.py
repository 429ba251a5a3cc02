"""Put the report-rollup triggers back on reviews_finding, and recount the rollups.

On SQLite, 0014's AddField of a column with a default remakes reviews_finding (create, copy,
drop, rename), and dropping the old table drops its triggers: from then on no finding was
counted in the funnel. Installing is idempotent (DROP TRIGGER IF EXISTS / CREATE OR REPLACE),
so PostgreSQL, which kept its triggers, is unchanged; the rebuild recounts what was missed.
A later migration that remakes a table with triggers must end the same way.
"""

from django.db import migrations

from reviews import rollups


def reinstall(apps, schema_editor):
    if not rollups.schema_ready(schema_editor.connection):
        return  # 0016 installs the triggers of today's rollups module and recounts
    vendor = schema_editor.connection.vendor
    for statement in [*rollups.install_sql(vendor), *rollups.rebuild_sql(vendor)]:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0014_finding_created_by_source_accounts"),
    ]

    operations = [
        migrations.RunPython(reinstall, migrations.RunPython.noop),
    ]
