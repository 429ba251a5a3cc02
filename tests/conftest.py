"""Shared fixtures: personas, scenario repositories."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from reviews.roles import MANAGER, REVIEWER, SKILL_ADMIN
from tests.scenarios import build_scenario

PROJECT_DIR = Path(__file__).resolve().parents[1]
# ../shared (the team's scenario collection and spec) is an optional extra check: a clone on its
# own builds its test repositories from tests/scenarios/ and skips, visibly, what needs ../shared.
SHARED_DIR = Path(os.environ.get("WATTSON_SHARED_DIR", PROJECT_DIR.parent / "shared"))
SHARED_SCENARIOS_DIR = SHARED_DIR / "scenarios"
SHARED_SCENARIO_NAMES = sorted(
    p.name for p in SHARED_SCENARIOS_DIR.glob("*") if (p / "build.py").is_file()
)
SHARED_MISSING = f"{SHARED_SCENARIOS_DIR} not found: optional extra check skipped"
PASSWORD = "correct-horse-battery-staple"

# The scenario fixture trees and the hostile repository hold their own tests: they are data that
# the tests copy into repositories, not our tests.
collect_ignore_glob = ["scenarios/*/*", "skills/hostile_repo/*"]


_SEEDS = (
    ("skills.migrations.0003_seed_skills", "seed_skills"),
    ("reviews.migrations.0012_role_groups", "create_role_groups"),
)


@pytest.fixture(autouse=True)
def _data_migration_rows(request):
    """Put back what data migrations wrote (skills, role groups) for every database test.

    A transactional test (live server, races) ends with a flush of every table, data-migration
    rows included, and tests that run after it would otherwise find no skills at all.
    """
    uses_db = request.node.get_closest_marker("django_db") or any(
        name in request.fixturenames for name in ("db", "transactional_db", "live_server")
    )
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    from skills.models import Skill

    if Skill.objects.exists() and Group.objects.filter(name="skill-admin").exists():
        return
    for module, function in _SEEDS:
        getattr(importlib.import_module(module), function)(apps, None)


def _make_user(django_user_model, username: str, *groups: str, email: str = ""):
    user = django_user_model.objects.create_user(
        username=username, password=PASSWORD, email=email or f"{username}@example.com"
    )
    for name in groups:
        group, _ = Group.objects.get_or_create(name=name)
        user.groups.add(group)
    return user


@pytest.fixture
def reviewer(db, django_user_model):
    return _make_user(django_user_model, "rita", REVIEWER)


@pytest.fixture
def reviewer2(db, django_user_model):
    return _make_user(django_user_model, "ravi", REVIEWER)


@pytest.fixture
def manager(db, django_user_model):
    return _make_user(django_user_model, "mona", MANAGER)


@pytest.fixture
def skill_admin(db, django_user_model):
    return _make_user(django_user_model, "sasha", SKILL_ADMIN, REVIEWER)


@pytest.fixture
def outsider(db, django_user_model):
    """Logged in, but holds no role."""
    return _make_user(django_user_model, "otto")


@pytest.fixture
def client_for(client):
    """client_for(user) -> a test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


def build_shared_scenario(name: str, dest: Path) -> dict:
    """Build a ../shared scenario repository into dest; returns its finding and scenario.json."""
    out = subprocess.run(
        [sys.executable, str(SHARED_SCENARIOS_DIR / name / "build.py"), str(dest)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    finding = json.loads(out.stdout.strip().splitlines()[-1])
    meta = json.loads((SHARED_SCENARIOS_DIR / name / "scenario.json").read_text())
    return {"finding": finding, "meta": meta, "path": dest}


def shared_scenario_params() -> list:
    """Parameters for a suite over ../shared's scenarios, marked `shared_scenarios`.

    Without ../shared the suite is one visibly skipped test, never an empty parametrisation.
    """
    marks = [pytest.mark.shared_scenarios]
    if not SHARED_SCENARIO_NAMES:
        return [pytest.param("absent", marks=[*marks, pytest.mark.skip(reason=SHARED_MISSING)])]
    return [pytest.param(name, marks=marks) for name in SHARED_SCENARIO_NAMES]


@pytest.fixture
def scenario(tmp_path):
    """scenario(name) -> {"finding", "meta", "path"}: a tests/scenarios repository in a temp dir."""

    def make(name: str) -> dict:
        return build_scenario(name, tmp_path / name)

    return make


@pytest.fixture
def shared_scenario(tmp_path):
    """shared_scenario(name) -> the same, built by ../shared/scenarios/<name>/build.py."""

    def make(name: str) -> dict:
        return build_shared_scenario(name, tmp_path / "shared" / name)

    return make
