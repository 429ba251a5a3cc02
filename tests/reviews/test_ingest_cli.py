"""manage.py ingest FILE|- [--json] (shared/spec/cli.md)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from reviews.models import AuditEvent, Finding
from tests.conftest import PROJECT_DIR


def finding(**overrides) -> dict:
    data = {
        "kind": "opportunity",
        "external_id": "survey-1",
        "source": "survey",
        "service": "search",
        "title": "stopword lookup is a list scan",
        "metric": "cpu",
        "magnitude_pct": 4,
        "functions": [{"symbol": "search.terms.index_terms"}],
        "pattern": "membership-set",
    }
    data.update(overrides)
    return data


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, payload) -> str:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(payload))
    return str(path)


@pytest.mark.django_db
def test_ingest_file_prints_contract_json(tmp_path):
    path = write(tmp_path, [finding(), finding(external_id="survey-2")])

    out, _ = run(path, "--json")

    ids = list(Finding.objects.order_by("id").values_list("id", flat=True))
    assert json.loads(out) == {"created": ids, "existing": [], "errors": []}
    assert AuditEvent.objects.filter(verb="finding.ingest", actor_label="system").count() == 2


@pytest.mark.django_db
def test_ingest_again_reports_existing_in_words(tmp_path):
    path = write(tmp_path, finding())
    first, _ = run(path)
    again, _ = run(path)

    pk = Finding.objects.get().pk
    assert first.strip() == f"Created 1 finding: #{pk}"
    assert again.strip() == f"Already ingested, unchanged: 1 finding: #{pk}"


@pytest.mark.django_db
def test_ingest_reads_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(finding()).encode())))
    out, _ = run("-", "--json")
    assert json.loads(out)["created"] == [Finding.objects.get().pk]


@pytest.mark.django_db
def test_invalid_finding_fails_with_index_and_writes_nothing(tmp_path):
    path = write(tmp_path, [finding(), finding(external_id="b", magnitude_pct=101)])
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("ingest", path, "--json", stdout=out, stderr=err)

    assert excinfo.value.returncode == 1
    assert "nothing was ingested" in str(excinfo.value)
    document = json.loads(out.getvalue())
    assert document["created"] == []
    assert [(e["index"], e["field"]) for e in document["errors"]] == [(1, "magnitude_pct")]
    assert "finding 1: magnitude_pct: must be at most 100" in err.getvalue()
    assert Finding.objects.count() == 0


@pytest.mark.django_db
def test_conflicting_resend_fails(tmp_path):
    run(write(tmp_path, finding()))
    with pytest.raises(CommandError, match="different body") as excinfo:
        run(write(tmp_path, finding(title="changed")))
    assert excinfo.value.returncode == 1
    assert Finding.objects.get().title == "stopword lookup is a list scan"


@pytest.mark.django_db
def test_invalid_json_fails(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{")
    with pytest.raises(CommandError) as excinfo:
        run(str(path))
    assert excinfo.value.returncode == 1


def test_missing_file_is_bad_usage(tmp_path):
    with pytest.raises(CommandError, match="no such file") as excinfo:
        run(str(tmp_path / "absent.json"))
    assert excinfo.value.returncode == 2


# --- exit statuses of the real command --------------------------------------------------------


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    """A migrated SQLite database in a temp dir, for manage.py in a subprocess."""
    var_dir = tmp_path_factory.mktemp("var")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"WATTSON_VAR_DIR": str(var_dir), "WATTSON_AUTO_SOLVE": "0"})
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    return env


def manage(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exit_statuses(cli_env, tmp_path):
    good = json.dumps(finding(external_id="exit-1"))

    created = manage(cli_env, "ingest", "-", "--json", stdin=good)
    assert created.returncode == 0, created.stderr
    assert len(json.loads(created.stdout)["created"]) == 1

    invalid = manage(cli_env, "ingest", "-", stdin=json.dumps(finding(kind="bug")))
    assert invalid.returncode == 1
    assert "kind: must be one of" in invalid.stderr

    missing = manage(cli_env, "ingest", str(tmp_path / "absent.json"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr

    no_argument = manage(cli_env, "ingest")
    assert no_argument.returncode == 2
