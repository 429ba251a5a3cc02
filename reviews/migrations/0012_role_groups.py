"""The role groups exist from the start, and a skill-admin may curate skills in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ("reviewer", "manager", "skill-admin", "ingest")
SKILL_ADMIN_PERMISSIONS = (
    ("skills", "view_skill"),
    ("skills", "change_skill"),
    ("skills", "add_skill"),
    ("skills", "view_skillversion"),
    ("skills", "view_skillstats"),
)


def create_role_groups(apps, schema_editor):
    # Permissions are normally made after all migrations (post_migrate): make the skills
    # app's now so they can be granted here.
    skills_config = apps.get_app_config("skills")
    stub = getattr(skills_config, "models_module", None) is None  # the migration stub lacks it
    if stub:
        skills_config.models_module = True
    create_permissions(skills_config, apps=apps, verbosity=0)
    if stub:
        skills_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
    for app_label, codename in SKILL_ADMIN_PERMISSIONS:
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        groups["skill-admin"].permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("reviews", "0011_finding_source_index"),
        ("skills", "0004_skill_preferred_backend"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
