"""Lock contention triggers on a lock taken, not a lock created (issue #12 item 1).

`self.lock = Lock()` in a constructor is not contention in that constructor: the corpus's
more-concurrent_tee `__init__` was shown a lock analysis for it. The trigger now needs the lock
acquired (`with lock:`, `.acquire()`), a condition wait, a sleep or a spin in the function or
what it calls. Only a skill whose trigger is still the seeded one changes (an admin's edit
wins), with a new SkillVersion so proposals keep pointing at the version they used. The values
are frozen here: later catalog edits need migrations of their own.
"""

from django.db import migrations

BASE = {
    "kinds": ["regression", "opportunity"],
    "metrics": ["cpu"],
    "file_globs": ["*.py"],
    "symbol_pattern": "",
    "needs_root_cause": False,
    "code_scope": "function",
}

OLD_TRIGGER = {
    **BASE,
    "code_patterns": [
        "\\b(Lock|RLock|Semaphore|BoundedSemaphore|Condition)\\(",
        "\\.acquire\\(",
        "\\bwith\\s+[\\w.]*(?i:lock|mutex|cond|condition)\\s*:",
        "\\.(wait|wait_for)\\(",
        "\\bsleep\\(",
        "\\bwhile\\b[^\\n]*:\\s*\\n\\s*(pass|continue)\\b",
    ],
}

NEW_TRIGGER = {
    **BASE,
    "code_patterns": [
        "\\.acquire\\(",
        "\\bwith\\s+[\\w.]*(?i:lock|mutex|cond|condition|sem|semaphore)\\s*(:|,|as\\b)",
        "\\.(wait|wait_for)\\(",
        "\\bsleep\\(",
        "\\bwhile\\b[^\\n]*:\\s*\\n\\s*(pass|continue)\\b",
    ],
}

SLUG = "lock-contention"

VERSIONED_FIELDS = (
    "name",
    "side",
    "description",
    "trigger",
    "instructions",
    "mitigation",
    "codemod",
    "expected_recovery",
)


def _retrigger(apps, trigger_from, trigger_to):
    Skill = apps.get_model("skills", "Skill")
    SkillVersion = apps.get_model("skills", "SkillVersion")
    skill = Skill.objects.filter(slug=SLUG).first()
    if skill is None or skill.trigger != trigger_from:
        return
    skill.trigger = trigger_to
    skill.save(update_fields=["trigger"])
    latest = SkillVersion.objects.filter(skill=skill).order_by("-number").first()
    SkillVersion.objects.create(
        skill=skill,
        number=(latest.number + 1) if latest else 1,
        **{field: getattr(skill, field) for field in VERSIONED_FIELDS},
    )


def forwards(apps, schema_editor):
    _retrigger(apps, OLD_TRIGGER, NEW_TRIGGER)


def backwards(apps, schema_editor):
    _retrigger(apps, NEW_TRIGGER, OLD_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0005_diagnosis_triggers"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
