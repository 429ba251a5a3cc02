"""Settings come from the environment: a bad value stops start-up with a message naming it.

Each case starts a fresh interpreter, because settings are read once at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
SETUP = "import django; django.setup()"
GOOD_SECRET = "k3Jq9-vX2mZ7pL0sW8eR4tY6uI1oP5aS3dF7gH9jK2lQ0wE8rT6yU4iO1pA5sD7fG"
PRODUCTION = {
    "WATTSON_ENV": "production",
    "DJANGO_SECRET_KEY": GOOD_SECRET,
    "DJANGO_ALLOWED_HOSTS": "wattson.example.com",
}


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The caller's environment without any Wattson/Django configuration, plus overrides."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WATTSON_", "DJANGO_", "ANTHROPIC_"))
        and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="console.settings",
        WATTSON_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(PROJECT_DIR),
    )
    env.update(overrides)
    return env


def run_python(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


BAD_VALUES = [
    ("WATTSON_ENV", {"WATTSON_ENV": "staging"}),
    ("DJANGO_DEBUG", {"DJANGO_DEBUG": "maybe"}),
    ("DATABASE_URL", {"DATABASE_URL": "mysql://wattson@db.example.com/wattson"}),
    ("WATTSON_BROKER", {"WATTSON_BROKER": "kafka"}),
    ("DATABASE_CONN_MAX_AGE", {"DATABASE_URL": "postgres://w@db/w", "DATABASE_CONN_MAX_AGE": "-1"}),
    ("WATTSON_SOLVE_TIMEOUT_S", {"WATTSON_SOLVE_TIMEOUT_S": "five minutes"}),
    ("WATTSON_SOLVE_TIMEOUT_S", {"WATTSON_SOLVE_TIMEOUT_S": "3"}),
    ("WATTSON_SOLVE_RETRY_S", {"WATTSON_SOLVE_TIMEOUT_S": "300", "WATTSON_SOLVE_RETRY_S": "120"}),
    ("WATTSON_SOLVE_MAX_ATTEMPTS", {"WATTSON_SOLVE_MAX_ATTEMPTS": "0"}),
    ("WATTSON_WORKERS", {"WATTSON_WORKERS": "0"}),
    ("WATTSON_SOLVER_BACKEND", {"WATTSON_SOLVER_BACKEND": "gpt"}),
    ("WATTSON_AUTO_SOLVE", {"WATTSON_AUTO_SOLVE": "sometimes"}),
    ("WATTSON_DEFAULT_FLEET_SERVERS", {"WATTSON_DEFAULT_FLEET_SERVERS": "-5"}),
    ("WATTSON_DEFAULT_PUE", {"WATTSON_DEFAULT_PUE": "0.8"}),
    ("WATTSON_DEFAULT_PRICE_PER_KWH", {"WATTSON_DEFAULT_PRICE_PER_KWH": "cheap"}),
    ("WATTSON_PATCH_MAX_BYTES", {"WATTSON_PATCH_MAX_BYTES": "0"}),
    ("WATTSON_SOLVE_QUEUED_GRACE_S", {"WATTSON_SOLVE_QUEUED_GRACE_S": "1"}),
    ("WATTSON_ANTHROPIC_FALLBACK", {"WATTSON_ANTHROPIC_FALLBACK": "retry"}),
    ("ANTHROPIC_BASE_URL", {"ANTHROPIC_BASE_URL": "localhost:9000"}),
    ("WATTSON_LLM_MAX_TURNS", {"WATTSON_LLM_MAX_TURNS": "0"}),
    ("DJANGO_SECRET_KEY", {"WATTSON_ENV": "production", "DJANGO_ALLOWED_HOSTS": "w.example.com"}),
    ("DJANGO_SECRET_KEY", {**PRODUCTION, "DJANGO_SECRET_KEY": "short-and-guessable"}),
    ("DJANGO_ALLOWED_HOSTS", {"WATTSON_ENV": "production", "DJANGO_SECRET_KEY": GOOD_SECRET}),
    ("DJANGO_HSTS_SECONDS", {**PRODUCTION, "DJANGO_HSTS_SECONDS": "-1"}),
]


@pytest.mark.parametrize(
    ("variable", "env"), BAD_VALUES, ids=[f"{v}={list(e.values())[-1]}" for v, e in BAD_VALUES]
)
def test_bad_value_stops_startup_naming_the_variable(tmp_path, variable, env):
    result = run_python(tmp_path, SETUP, **env)

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: "), result.stderr
    assert variable in last_line


def test_bad_source_secrets_are_named_when_read(tmp_path):
    code = SETUP + "; from reviews.api.auth import source_secrets; source_secrets()"
    result = run_python(tmp_path, code, WATTSON_SOURCE_SECRETS="perf-sentinel=abc")

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line and "WATTSON_SOURCE_SECRETS" in last_line


def test_defaults_need_no_configuration(tmp_path):
    code = SETUP + (
        "; from django.conf import settings as s"
        "; print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.WATTSON_BROKER,"
        " s.WATTSON_SOLVER_BACKEND)"
    )
    result = run_python(tmp_path, code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3", "orm", "offline"]


def test_environment_switches_to_postgres_and_redis_without_code_changes(tmp_path):
    code = SETUP + (
        "; from django.conf import settings as s"
        "; print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'],"
        " s.Q_CLUSTER.get('redis'), 'orm' in s.Q_CLUSTER)"
    )
    result = run_python(
        tmp_path,
        code,
        DATABASE_URL="postgres://wattson@db.internal:5432/wattson",
        WATTSON_BROKER="redis",
        REDIS_URL="redis://cache.internal:6379/2",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.internal",
        "redis://cache.internal:6379/2",
        "False",
    ]


def test_persistent_database_connections_can_be_turned_off_for_the_dev_server(tmp_path):
    code = (
        SETUP
        + "; from django.conf import settings as s; print(s.DATABASES['default']['CONN_MAX_AGE'])"
    )
    url = "postgres://wattson@db.internal:5432/wattson"

    kept = run_python(tmp_path, code, DATABASE_URL=url)
    closed = run_python(tmp_path, code, DATABASE_URL=url, DATABASE_CONN_MAX_AGE="0")

    assert (kept.returncode, closed.returncode) == (0, 0), kept.stderr + closed.stderr
    assert (kept.stdout.strip(), closed.stdout.strip()) == ("60", "0")


def test_production_profile_passes_the_deploy_check_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_DIR,
        env=clean_env(tmp_path, **PRODUCTION),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr
