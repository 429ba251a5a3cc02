"""Repositories by URL (issue #13 item 1): add_repo, per-machine mirrors, fetch on demand,
clear reasons when the remote fails, credentials that never leak, push on approval."""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.conf import Conf

from reviews.models import AuditEvent, Finding, FixDelivery, Proposal, Repository, SolveRun
from reviews.services.decisions import proposal_decide
from reviews.services.fix_delivery import fix_deliveries_due
from reviews.services.ingest import finding_ingest
from reviews.services.repositories import repository_register
from reviews.services.solving import solve_request, solve_run_execute
from skills.mirrors import has_commit, mirror_ensure, mirror_for
from skills.worktrees import scratch_worktree
from tests.support.git_http import GitHttpServer

CANARY = "canary-Zq7xW2pLk9"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _dirs(settings, tmp_path, monkeypatch):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_MIRROR_DIR = tmp_path / "mirrors"
    settings.WATTSON_MIRROR_MAX_AGE_S = 0
    settings.WATTSON_PUBLIC_URL = "https://wattson.example.com"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setattr(Conf, "SYNC", True)
    monkeypatch.delenv("WATTSON_GIT_CREDENTIALS", raising=False)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_file(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", name)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def label_regex(scenario):
    built = scenario("label_regex")
    git(built["path"], "config", "uploadpack.allowFilter", "true")
    return built


def register(built: dict, url: str, name: str = "labels") -> Repository:
    meta = built["meta"]
    return repository_register(
        name=name,
        path=url,
        service_name=built["finding"]["service"],
        test_cmd=meta["test_cmd"],
        bench_cmd=meta["bench_cmd"],
        branch="main",
    ).repository


def ingest(built: dict, repository: str = "labels", **changes) -> Finding:
    result = finding_ingest(
        payload={**built["finding"], "repository": repository, **changes}, actor=None
    )
    assert not result.errors, result.errors
    return Finding.objects.get(pk=result.created[0])


def solve(finding: Finding) -> SolveRun:
    run = solve_request(finding=finding, actor=None, enqueue=False)
    return solve_run_execute(run_id=run.pk)


# --- add_repo ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/labels.git",
        "ssh://git@gitlab.example.com:2222/acme/labels.git",
        "git@github.com:acme/labels.git",
        "file:///srv/git/labels.git",
    ],
)
def test_add_repo_registers_each_kind_of_url(db, capsys, url):
    call_command("add_repo", "labels", url, "--service", "labels-svc", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        "id": printed["id"],
        "name": "labels",
        "path": "",
        "url": url,
        "service": "labels-svc",
    }
    assert Repository.objects.get(name="labels").url == url


def test_add_repo_switches_a_repository_between_path_and_url(db, label_regex):
    register(label_regex, str(label_regex["path"]))
    repository = register(label_regex, "https://github.com/acme/labels.git")
    assert (repository.path, repository.url) == ("", "https://github.com/acme/labels.git")
    repository = register(label_regex, str(label_regex["path"]))
    assert (repository.path, repository.url) == (str(label_regex["path"]), "")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"https://bot:{CANARY}@github.com/acme/labels.git", "carries a password"),
        ("https://bot@github.com/acme/labels.git", "carries a user name"),
        ("ftp://example.com/labels.git", "unsupported scheme ftp://"),
        ("https:///labels.git", "names no host"),
        ("https://github.com/", "names no repository path"),
        ("file://server/share/labels.git", "file:// URLs name a local path"),
        ("https://github.com/acme/la bels.git", "spaces"),
    ],
)
def test_add_repo_refuses_a_bad_url_and_says_why(db, url, says):
    with pytest.raises(CommandError) as refused:
        call_command("add_repo", "labels", url)
    assert refused.value.returncode == 2
    assert says in str(refused.value)
    assert CANARY not in str(refused.value)
    assert not Repository.objects.exists()


def test_admin_form_names_the_url_field(db, admin_client):
    response = admin_client.post(
        "/admin/reviews/repository/add/",
        {"name": "labels", "url": "https://x:secret@github.com/a/b.git", "default_branch": "main"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "carries a password" in errors["url"][0]
    response = admin_client.post(
        "/admin/reviews/repository/add/",
        {"name": "labels", "url": "https://github.com/a/b.git", "default_branch": "main"},
    )
    assert response.status_code == 302
    assert Repository.objects.get(name="labels").url == "https://github.com/a/b.git"


# --- mirrors -------------------------------------------------------------------------------------


def test_mirror_is_a_bare_partial_clone_in_this_machines_var_dir(label_regex, settings):
    url = f"file://{label_regex['path']}"
    mirror = mirror_ensure(name="labels", url=url, default_branch="main")
    assert mirror.git_dir.is_relative_to(settings.WATTSON_MIRROR_DIR)
    assert git(mirror.git_dir, "rev-parse", "--is-bare-repository") == "true"
    assert git(mirror.git_dir, "config", "remote.origin.promisor") == "true"
    assert git(mirror.git_dir, "config", "remote.origin.partialclonefilter") == "blob:none"
    assert (mirror.checkout / "labels.py").exists() or any(mirror.checkout.iterdir())
    head = git(label_regex["path"], "rev-parse", "main")
    assert git(mirror.checkout, "rev-parse", "HEAD") == head


def test_a_commit_pushed_after_the_mirror_was_made_is_fetched_on_demand(label_regex):
    url = f"file://{label_regex['path']}"
    mirror = mirror_ensure(name="labels", url=url, default_branch="main")
    new = commit_file(label_regex["path"], "NOTES.txt", "later\n")
    assert not has_commit(mirror.git_dir, new)
    # Fresh by age, but it lacks the commit: fetched anyway.
    mirror_ensure(name="labels", url=url, default_branch="main", commits=(new,), max_age_s=3600)
    assert has_commit(mirror.git_dir, new)
    assert git(mirror.checkout, "rev-parse", "HEAD") == new


def test_concurrent_solves_share_one_mirror(label_regex):
    url = f"file://{label_regex['path']}"
    heads, errors = [], []

    def work() -> None:
        try:
            mirror = mirror_ensure(name="labels", url=url, default_branch="main")
            with scratch_worktree(mirror.checkout, "main") as tree:
                heads.append(git(tree, "rev-parse", "HEAD"))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(set(heads)) == 1 and len(heads) == 4
    root = mirror_for(name="labels", url=url).root
    assert [p.name for p in root.parent.iterdir()] == [root.name]
    # Every scratch worktree was removed from the mirror's bookkeeping; the checkout stays.
    listed = git(root / "git", "worktree", "list", "--porcelain")
    assert listed.count("worktree ") == 2  # the bare repository itself and checkout/


# --- solving a URL repository ------------------------------------------------------------------


def test_a_url_repository_is_solved_from_this_machines_mirror(label_regex, settings):
    with GitHttpServer(Path(settings.WATTSON_MIRROR_DIR).parent / "served") as server:
        url = server.serve(label_regex["path"], "acme/labels.git")
        register(label_regex, url)
        finding = ingest(label_regex)
        run = solve(finding)
        assert run.status == SolveRun.Status.SUCCEEDED, run.error
        proposal = Proposal.objects.get(finding=finding, is_current=True)
        assert proposal.applies and proposal.tests_passed
        assert mirror_for(name="labels", url=url).exists()
        # The smart-HTTP protocol was used (git-upload-pack), not a dumb file copy.
        assert any("git-upload-pack" in request.path for request in server.requests)


def test_unreachable_url_is_the_runs_reason_and_a_later_retry_works(label_regex, tmp_path):
    served = tmp_path / "later" / "labels.git"
    register(label_regex, f"file://{served}")
    finding = ingest(label_regex)
    run = solve(finding)
    assert run.status == SolveRun.Status.FAILED
    assert f"cannot reach file://{served} to clone" in run.error

    served.parent.mkdir()
    git(tmp_path, "clone", "--bare", "-q", str(label_regex["path"]), str(served))
    git(served, "config", "uploadpack.allowFilter", "true")
    run = solve(finding)
    assert run.status == SolveRun.Status.SUCCEEDED, run.error


def test_a_missing_commit_is_the_runs_reason_and_a_later_retry_works(label_regex, tmp_path):
    register(label_regex, f"file://{label_regex['path']}")
    pending = tmp_path / "pending"
    git(tmp_path, "clone", "-q", str(label_regex["path"]), str(pending))
    sha = commit_file(pending, "later.txt", "not pushed yet\n")
    finding = ingest(label_regex, external_id="later-commit", root_cause={"commit": sha})
    run = solve(finding)
    assert run.status == SolveRun.Status.FAILED
    assert f"commit {sha} is not in file://{label_regex['path']}" in run.error

    git(pending, "push", "-q", "origin", "HEAD:refs/heads/later")
    run = solve(finding)
    assert "is not in" not in (run.error or ""), run.error


def test_bad_credentials_are_the_reason_and_never_leak(
    label_regex, settings, monkeypatch, caplog, client_for, reviewer
):
    caplog.set_level(logging.DEBUG)
    with GitHttpServer(
        Path(settings.WATTSON_MIRROR_DIR).parent / "served", username="bot", password=CANARY
    ) as server:
        url = server.serve(label_regex["path"], "acme/labels.git")
        host = url.split("/")[2]
        register(label_regex, url)
        finding = ingest(label_regex)

        run = solve(finding)  # no credentials at all
        assert run.status == SolveRun.Status.FAILED
        assert "credentials" in run.error and "missing or refused" in run.error

        wrong = f"{CANARY}-wrong"
        monkeypatch.setenv(
            "WATTSON_GIT_CREDENTIALS", json.dumps({host: {"username": "bot", "password": wrong}})
        )
        run = solve(finding)
        assert run.status == SolveRun.Status.FAILED
        assert "missing or refused" in run.error

        monkeypatch.setenv(
            "WATTSON_GIT_CREDENTIALS", json.dumps({host: {"username": "bot", "password": CANARY}})
        )
        run = solve(finding)
        assert run.status == SolveRun.Status.SUCCEEDED, run.error
        assert any(request.authorized for request in server.requests)

    page = client_for(reviewer).get(f"/findings/{finding.pk}/").content.decode()
    stored = [
        json.dumps(list(SolveRun.objects.values("error", "trace", "transcript"))),
        json.dumps(list(AuditEvent.objects.values("data")), default=str),
        json.dumps(list(Repository.objects.values()), default=str),
        page,
        caplog.text,
    ]
    for text in stored:
        assert CANARY not in text


# --- pushing approved fixes ----------------------------------------------------------------------


def approve(finding: Finding, reviewer, django_capture_on_commit_callbacks):
    proposal = Proposal.objects.get(finding=finding, is_current=True)
    with django_capture_on_commit_callbacks(execute=True):
        decision = proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    proposal.refresh_from_db()
    return proposal, decision


@pytest.mark.parametrize("transport", ["file", "http"])
def test_approval_pushes_the_fix_branch_to_the_remote(
    label_regex, settings, reviewer, django_capture_on_commit_callbacks, transport
):
    with GitHttpServer(Path(settings.WATTSON_MIRROR_DIR).parent / "served") as server:
        if transport == "http":
            url = server.serve(label_regex["path"], "acme/labels.git")
            remote = server.path_of("acme/labels.git")
        else:
            url, remote = f"file://{label_regex['path']}", label_regex["path"]
        register(label_regex, url)
        finding = ingest(label_regex)
        assert solve(finding).status == SolveRun.Status.SUCCEEDED
        proposal, decision = approve(finding, reviewer, django_capture_on_commit_callbacks)

    delivery = FixDelivery.objects.get(decision=decision)
    assert delivery.status == FixDelivery.Status.PUSHED, delivery.last_error
    assert git(remote, "rev-parse", f"refs/heads/{proposal.branch_name}") == proposal.branch_commit
    assert git(remote, "rev-parse", "main") == git(label_regex["path"], "rev-parse", "main")


def test_a_failed_push_is_recorded_and_retried_without_undoing_the_approval(
    label_regex, settings, reviewer, django_capture_on_commit_callbacks
):
    with GitHttpServer(Path(settings.WATTSON_MIRROR_DIR).parent / "served") as server:
        url = server.serve(label_regex["path"], "acme/labels.git")
        register(label_regex, url)
        finding = ingest(label_regex)
        assert solve(finding).status == SolveRun.Status.SUCCEEDED
        settings.WATTSON_MIRROR_MAX_AGE_S = 3600  # the approval reads the mirror as it is
        server.down = True
        proposal, decision = approve(finding, reviewer, django_capture_on_commit_callbacks)

        assert proposal.status == Proposal.Status.APPROVED
        delivery = FixDelivery.objects.get(decision=decision)
        assert delivery.status == FixDelivery.Status.PENDING
        assert f"cannot reach {url} to push" in delivery.last_error
        assert delivery.attempts == 1

        server.down = False
        # Another machine retries: its own, empty mirror, the commit from the bundle.
        settings.WATTSON_MIRROR_DIR = Path(settings.WATTSON_MIRROR_DIR).parent / "other-machine"
        FixDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
        assert fix_deliveries_due() == [delivery.pk]

    delivery.refresh_from_db()
    assert delivery.status == FixDelivery.Status.PUSHED, delivery.last_error
    remote = server.path_of("acme/labels.git")
    assert git(remote, "rev-parse", f"refs/heads/{proposal.branch_name}") == proposal.branch_commit
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.APPROVED
