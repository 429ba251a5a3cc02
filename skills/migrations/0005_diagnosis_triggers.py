"""Diagnosis-only skills get triggers of their own (issue #12 item 1).

Lock contention needs a lock, a condition wait, a sleep or a spin; N+1 queries need a query
inside a loop (code_scope "loop"); serialization needs an encoder call. Only skills whose trigger
is still the seeded one change (an admin's edit wins), each with a new SkillVersion so proposals
keep pointing at the version they used. The values are frozen here: later catalog edits need
migrations of their own.
"""

from django.db import migrations

OLD_TRIGGERS = {
    "serialization-schema-change": {
        "kinds": ["regression"],
        "metrics": ["cpu"],
        "file_globs": ["*.py"],
        "symbol_pattern": "(?i)(serial|encode|decode|dump|load|schema|to_dict|payload)",
        "needs_root_cause": False,
        "code_patterns": [
            "json\\.(dumps|loads|dump|load)\\(",
            "\\b(pickle|marshal|msgpack|protobuf|orjson|yaml)\\b",
            "\\b(serializ|deserializ|to_dict|from_dict|to_json|as_dict|schema)\\w*",
        ],
    },
    "n-plus-one-queries": {
        "kinds": ["regression", "opportunity"],
        "metrics": ["cpu"],
        "file_globs": ["*.py"],
        "symbol_pattern": "",
        "needs_root_cause": False,
        "code_patterns": [
            "\\.objects\\.(get|filter|exclude)\\(",
            "\\.(execute|fetchone|fetchall)\\(",
            "\\.(select_related|prefetch_related)\\(",
            "\\b(requests|httpx|session)\\.(get|post)\\(",
        ],
    },
    "lock-contention": {
        "kinds": ["regression", "opportunity"],
        "metrics": ["cpu"],
        "file_globs": ["*.py"],
        "symbol_pattern": "",
        "needs_root_cause": False,
        "code_patterns": [
            "\\b(Lock|RLock|Semaphore|Condition)\\(",
            "\\.acquire\\(",
            "with\\s+[\\w.]*lock\\b",
            "while\\s+(True|not\\b).*:\\s*$",
            "time\\.sleep\\(0?\\.0*\\d+\\)",
        ],
    },
}

NEW_TRIGGERS = {
    "serialization-schema-change": {
        "kinds": ["regression"],
        "metrics": ["cpu"],
        "file_globs": ["*.py"],
        "symbol_pattern": "(?i)(serial|encode|decode|dump|load|schema|to_dict|payload)",
        "needs_root_cause": False,
        "code_patterns": [
            "\\bjson\\.(dumps|loads|dump|load)\\(",
            "\\b(pickle|marshal|msgpack|orjson|ujson|yaml|cbor2?)\\.\\w+\\(",
            "\\.(to_dict|from_dict|to_json|from_json|as_dict|model_dump|SerializeToString|ParseFromString)\\(",
            "\\b(dataclasses\\.)?asdict\\(",
        ],
        "code_scope": "function",
    },
    "n-plus-one-queries": {
        "kinds": ["regression", "opportunity"],
        "metrics": ["cpu"],
        "file_globs": ["*.py"],
        "symbol_pattern": "",
        "needs_root_cause": False,
        "code_patterns": [
            "\\.objects\\.(get|filter|exclude|get_or_create|create|count)\\(",
            "\\.(execute|executemany|fetchone|fetchall|fetchmany)\\(",
            "\\bsession\\.(query|get|execute|scalar|scalars)\\(",
            "\\b(requests|httpx|session|client)\\.(get|post|put|patch|delete|request)\\(",
        ],
        "code_scope": "loop",
    },
    "lock-contention": {
        "kinds": ["regression", "opportunity"],
        "metrics": ["cpu"],
        "file_globs": ["*.py"],
        "symbol_pattern": "",
        "needs_root_cause": False,
        "code_patterns": [
            "\\b(Lock|RLock|Semaphore|BoundedSemaphore|Condition)\\(",
            "\\.acquire\\(",
            "\\bwith\\s+[\\w.]*(?i:lock|mutex|cond|condition)\\s*:",
            "\\.(wait|wait_for)\\(",
            "\\bsleep\\(",
            "\\bwhile\\b[^\\n]*:\\s*\\n\\s*(pass|continue)\\b",
        ],
        "code_scope": "function",
    },
}

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


def _retrigger(apps, triggers_from, triggers_to):
    Skill = apps.get_model("skills", "Skill")
    SkillVersion = apps.get_model("skills", "SkillVersion")
    for slug, trigger in triggers_to.items():
        skill = Skill.objects.filter(slug=slug).first()
        if skill is None or skill.trigger != triggers_from[slug]:
            continue
        skill.trigger = trigger
        skill.save(update_fields=["trigger"])
        latest = SkillVersion.objects.filter(skill=skill).order_by("-number").first()
        SkillVersion.objects.create(
            skill=skill,
            number=(latest.number + 1) if latest else 1,
            **{field: getattr(skill, field) for field in VERSIONED_FIELDS},
        )


def forwards(apps, schema_editor):
    _retrigger(apps, OLD_TRIGGERS, NEW_TRIGGERS)


def backwards(apps, schema_editor):
    _retrigger(apps, NEW_TRIGGERS, OLD_TRIGGERS)


class Migration(migrations.Migration):
    dependencies = [
        ("skills", "0004_skill_preferred_backend"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
