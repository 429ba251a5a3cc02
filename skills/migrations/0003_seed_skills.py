"""Seed the built-in skills (skills/catalog.py), each with its first immutable SkillVersion.

Historical models have no custom save(), so the version rows are written here explicitly.
Existing skills with the same slug are left alone: an admin's edits win over the seed.
"""

from django.db import migrations

from skills.catalog import SEED_SKILLS, VERSIONED_FIELDS


def seed_skills(apps, schema_editor):
    Skill = apps.get_model("skills", "Skill")
    SkillVersion = apps.get_model("skills", "SkillVersion")
    for seed in SEED_SKILLS:
        if Skill.objects.filter(slug=seed["slug"]).exists():
            continue
        skill = Skill.objects.create(**seed)
        # The current model's save() makes version 1 itself; the historical one does not.
        if not SkillVersion.objects.filter(skill=skill).exists():
            SkillVersion.objects.create(
                skill=skill, number=1, **{field: seed[field] for field in VERSIONED_FIELDS}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0002_skillstats_decision_seconds"),
    ]

    operations = [
        migrations.RunPython(seed_skills, migrations.RunPython.noop),
    ]
