"""manage.py add_repo NAME PATH [--service S] [--test-cmd] [--bench-cmd] [--branch] [--json]."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from reviews.models import AuditEvent, Repository, Service
from tests.conftest import PROJECT_DIR


@pytest.fixture
def work_tree(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "pkg").mkdir()
    return path


def add_repo(*args: str) -> str:
    out = io.StringIO()
    call_command("add_repo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_registers_a_work_tree_and_prints_json(work_tree):
    out = add_repo(
        "feed",
        str(work_tree),
        "--service",
        "product-feed",
        "--test-cmd",
        "python3 -m unittest -q",
        "--bench-cmd",
        "python3 bench.py",
        "--json",
    )

    repository = Repository.objects.get(name="feed")
    assert json.loads(out) == {
        "id": repository.pk,
        "name": "feed",
        "path": str(work_tree.resolve()),
        "service": "product-feed",
    }
    assert repository.test_cmd == "python3 -m unittest -q"
    assert repository.bench_cmd == "python3 bench.py"
    assert repository.default_branch == "main"
    assert Service.objects.get(name="product-feed").repository == repository
    assert AuditEvent.objects.filter(verb="repository.register").count() == 1


@pytest.mark.django_db
def test_second_run_updates_only_what_is_given(work_tree, tmp_path):
    add_repo("feed", str(work_tree), "--test-cmd", "make test", "--service", "feed")
    moved = tmp_path / "moved"
    subprocess.run(["git", "init", "-q", str(moved)], check=True)

    out = add_repo("feed", str(moved), "--branch", "trunk")

    repository = Repository.objects.get()
    assert repository.path == str(moved.resolve())
    assert repository.default_branch == "trunk"
    assert repository.test_cmd == "make test"
    assert "Updated repository feed" in out
    assert "Service feed uses it." in out


@pytest.mark.django_db
def test_service_is_pointed_at_the_new_repository(work_tree, tmp_path):
    old = Repository.objects.create(name="old", path=str(tmp_path))
    Service.objects.create(name="feed", repository=old, fleet_servers=42)

    add_repo("feed-repo", str(work_tree), "--service", "feed")

    service = Service.objects.get(name="feed")
    assert service.repository.name == "feed-repo"
    assert service.fleet_servers == 42


@pytest.mark.django_db
def test_path_that_is_not_a_work_tree_is_bad_usage(tmp_path):
    with pytest.raises(CommandError, match="not a git work tree") as excinfo:
        add_repo("feed", str(tmp_path))
    assert excinfo.value.returncode == 2
    assert Repository.objects.count() == 0


@pytest.mark.django_db
def test_subdirectory_of_a_work_tree_is_refused_with_the_top(work_tree):
    with pytest.raises(CommandError, match=f"pass {work_tree.resolve()}") as excinfo:
        add_repo("feed", str(work_tree / "pkg"))
    assert excinfo.value.returncode == 2
    assert Repository.objects.count() == 0


@pytest.mark.django_db
def test_overlong_name_is_refused(work_tree):
    with pytest.raises(CommandError, match="at most 200") as excinfo:
        add_repo("x" * 201, str(work_tree))
    assert excinfo.value.returncode == 2


def test_exit_status_of_the_real_command(tmp_path):
    # Refused before the database is touched, so no migrated database is needed.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["WATTSON_VAR_DIR"] = str(tmp_path / "var")
    result = subprocess.run(
        [sys.executable, "manage.py", "add_repo", "feed", str(tmp_path)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "not a git work tree" in result.stderr
