"""Pages read a URL repository through this machine's own mirror, made on first need (#13).

The web process has no mirror until something needs one; before this, a URL repository's
finding page could not show the root-cause commit, nor a proposal's diff its context. A page
now makes or fetches the mirror itself (each step bounded by WATTSON_PAGE_GIT_TIMEOUT_S); a
remote that cannot be reached is a note on the page, never a 500, and a later view works.
"""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from reviews.models import Finding
from reviews.services.ingest import finding_ingest
from reviews.services.repositories import repository_register
from tests.fakes.llm_scripts import LABELS_FILE, precompile_diff
from tests.reviews.gate_helpers import make_proposal
from tests.support.git_http import GitHttpServer


@pytest.fixture(autouse=True)
def _dirs(settings, tmp_path, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_MIRROR_DIR = tmp_path / "mirrors"
    settings.WATTSON_AUTO_SOLVE = False
    settings.WATTSON_PAGE_GIT_TIMEOUT_S = 10
    monkeypatch.delenv("WATTSON_GIT_CREDENTIALS", raising=False)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def _register(built: dict, url: str) -> Finding:
    repository_register(
        name="labels",
        path=url,
        service_name=built["finding"]["service"],
        test_cmd=built["meta"]["test_cmd"],
        bench_cmd="",
        branch="main",
        actor=None,
    )
    result = finding_ingest(payload={**built["finding"], "repository": "labels"}, actor=None)
    assert not result.errors, result.errors
    return Finding.objects.get(pk=result.created[0])


def _mirrors(settings) -> list[Path]:
    root = Path(settings.WATTSON_MIRROR_DIR)
    return sorted(root.iterdir()) if root.exists() else []


def _text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.mark.django_db
def test_the_finding_page_mirrors_a_url_repository_to_show_the_root_cause(
    scenario, settings, reviewer, client_for
):
    built = scenario("label_regex")
    _git(built["path"], "config", "uploadpack.allowFilter", "true")
    finding = _register(built, f"file://{built['path']}")
    commit = finding.root_cause_commit
    subject = _git(built["path"], "log", "-1", "--format=%s", commit)
    assert _mirrors(settings) == []  # nothing has needed the repository on this machine yet

    page = _text(client_for(reviewer), finding.get_absolute_url())

    assert subject in page and "cannot be read on this server" not in page
    assert 'aria-label="Diff of the root-cause commit"' in page
    assert len(_mirrors(settings)) == 1


@pytest.mark.django_db
def test_an_unreachable_remote_is_a_note_and_a_later_view_shows_the_commit(
    scenario, settings, tmp_path, reviewer, client_for
):
    built = scenario("label_regex")
    with GitHttpServer(tmp_path / "served") as server:
        finding = _register(built, server.serve(built["path"], "team/labels.git"))
        subject = _git(built["path"], "log", "-1", "--format=%s", finding.root_cause_commit)
        client = client_for(reviewer)

        server.down = True
        page = _text(client, finding.get_absolute_url())
        assert "The repository labels cannot be read on this server" in page
        assert subject not in page

        server.down = False
        assert subject in _text(client, finding.get_absolute_url())


@pytest.mark.django_db
def test_a_proposal_on_a_url_repository_shows_its_diff_with_context(
    scenario, settings, reviewer, client_for
):
    built = scenario("label_regex")
    _git(built["path"], "config", "uploadpack.allowFilter", "true")
    finding = _register(built, f"file://{built['path']}")
    diff = precompile_diff(built["path"])
    proposal = make_proposal(repo=built["path"], diff=diff, finding=finding)
    client = client_for(reviewer)

    page = _text(client, reverse("reviews:proposal", args=[proposal.pk]))
    assert "_TRACKING_PATTERN" in page
    assert "not available on this server" not in page
    assert "cannot be read on this server" not in page

    # "Expand" above the first hunk reads the file at the base commit from the mirror.
    first_hunk = int(re.search(r"^@@ -(\d+)", diff, flags=re.M).group(1))
    assert first_hunk > 1
    rows = client.get(
        reverse("reviews:proposal_context", args=[proposal.pk]),
        {"file": 0, "from": 1, "to": first_hunk - 1},
    )
    assert rows.status_code == 200
    first_line = (built["path"] / LABELS_FILE).read_text().splitlines()[0]
    assert html.escape(first_line, quote=False)[:40] in rows.content.decode()
