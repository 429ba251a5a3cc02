"""Approval commits to a new fix branch and nothing else; every proposal downloads as a patch."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from reviews.models import Decision, Finding, Proposal
from reviews.services.decisions import DecisionStale, proposal_decide
from tests.reviews.gate_helpers import (
    FIXED,
    ORIGINAL,
    fix_branches,
    git,
    make_proposal,
    make_repo,
    repo_state,
)


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"
    settings.WATTSON_PUBLIC_URL = "https://wattson.example.com"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


@pytest.mark.django_db
def test_approval_creates_a_branch_and_leaves_the_users_repo_alone(
    settings, tmp_path, repo, reviewer, django_user_model
):
    proposal = make_proposal(repo=repo, assignee=reviewer)
    reviewer.first_name, reviewer.last_name = "Rita", "Reviewer"
    reviewer.save()
    # The user is mid-work: on a feature branch, with an edit and an untracked file.
    git(repo, "checkout", "-q", "-b", "feature/wip")
    (repo / "README.md").write_text("invoice, work in progress\n")
    (repo / "notes.txt").write_text("todo\n")
    before = repo_state(repo)

    proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")

    assert repo_state(repo) == before
    branch = f"wattson/{proposal.finding_id}-r1"
    assert fix_branches(repo) == [branch]
    proposal.refresh_from_db()
    assert proposal.branch_name == branch
    assert proposal.branch_commit == git(repo, "rev-parse", branch)
    # The commit sits on main's head, changes exactly the reviewed diff, and is the bot's.
    assert git(repo, "rev-parse", f"{branch}^") == before["main"]
    assert git(repo, "show", f"{branch}:invoice/calc.py") + "\n" == FIXED
    author = git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>", branch)
    bot = f"{settings.WATTSON_BOT_NAME} <{settings.WATTSON_BOT_EMAIL}>"
    assert author == f"{bot}|{bot}"
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.splitlines()[0] == "Use the builtin sum() in total()"
    assert "sum() does it in\nC." in message  # the body is wrapped at 72 columns
    finding_url = f"https://wattson.example.com/findings/{proposal.finding_id}/"
    assert f"Finding: {finding_url}" in message
    assert "Reviewed-by: Rita Reviewer <rita@example.com>" in message
    # The scratch worktree is gone.
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert [p for p in (tmp_path / "work").iterdir() if not p.name.startswith(".lock")] == []


@pytest.mark.django_db
def test_approval_rebases_onto_a_moved_head_when_the_patch_still_applies(repo, reviewer):
    proposal = make_proposal(repo=repo)
    (repo / "README.md").write_text("invoice totals\n")
    git(repo, "commit", "-q", "-am", "Docs")
    head = git(repo, "rev-parse", "main")
    proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    branch = f"wattson/{proposal.finding_id}-r1"
    assert git(repo, "rev-parse", f"{branch}^") == head
    assert git(repo, "rev-parse", "main") == head


@pytest.mark.django_db
def test_a_patch_that_no_longer_applies_marks_the_proposal_stale(client_for, repo, reviewer):
    proposal = make_proposal(repo=repo)
    (repo / "invoice" / "calc.py").write_text(ORIGINAL.replace("result = 0", "result = 0.0"))
    git(repo, "commit", "-q", "-am", "Floats")
    before = repo_state(repo)

    with pytest.raises(DecisionStale, match="no longer applies"):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")

    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.STALE
    assert "no longer applies" in proposal.stale_reason
    assert not Decision.objects.exists()
    assert fix_branches(repo) == []
    assert repo_state(repo) == before
    assert Finding.objects.get(pk=proposal.finding_id).status == Finding.Status.IN_REVIEW
    # Through the page the reviewer is told, and the form offers to re-solve.
    second = make_proposal(repo=repo, diff=proposal.diff)
    response = client_for(reviewer).post(
        reverse("reviews:proposal_approve", args=[second.pk]),
        {"revision": 1, "diff_sha256": second.diff_sha256},
        follow=True,
    )
    assert "The proposal is stale" in response.content.decode()
    assert "Re-solve" in response.content.decode() or "request a new fix" in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_the_decision_form_offers_a_re_solve_for_a_stale_proposal(rf, repo, reviewer):
    from django.template.loader import render_to_string

    from reviews.roles import user_roles

    proposal = make_proposal(repo=repo)
    Proposal.objects.filter(pk=proposal.pk).update(
        status=Proposal.Status.STALE, stale_reason="main moved on"
    )
    proposal.refresh_from_db()
    request = rf.get("/")
    request.user = reviewer
    html = render_to_string(
        "reviews/_decision_form.html",
        {"proposal": proposal, "roles": user_roles(reviewer), "user": reviewer},
        request=request,
    )
    assert "main moved on" in html
    assert reverse("reviews:finding", args=[proposal.finding_id]) in html
    assert f'action="{reverse("reviews:solve-request", args=[proposal.finding_id])}"' in html
    assert "approve-button" not in html


# --- the patch download ----------------------------------------------------------------------


@pytest.mark.django_db
def test_every_proposal_downloads_as_a_patch_git_am_applies(
    settings, tmp_path, client_for, manager, repo
):
    proposal = make_proposal(repo=repo)
    before = repo_state(repo)
    refs_before = git(repo, "for-each-ref")
    response = client_for(manager).get(reverse("reviews:proposal_patch", args=[proposal.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="wattson-{proposal.finding_id}-r1.patch"'
    )
    text = response.content.decode()
    assert f"From: {settings.WATTSON_BOT_NAME} <{settings.WATTSON_BOT_EMAIL}>" in text
    assert "Subject: [PATCH] Use the builtin sum() in total()" in text
    # Downloading touched nothing in the repository.
    assert repo_state(repo) == before
    assert git(repo, "for-each-ref") == refs_before

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    patch_file = tmp_path / "fix.patch"
    patch_file.write_bytes(response.content)
    git(clone, "am", "-q", str(patch_file))
    assert (clone / "invoice" / "calc.py").read_text() == FIXED
    assert git(clone, "log", "-1", "--format=%s") == "Use the builtin sum() in total()"
    assert git(clone, "log", "-1", "--format=%an") == settings.WATTSON_BOT_NAME


@pytest.mark.django_db
def test_a_rationale_cannot_smuggle_a_separator_into_the_patch(tmp_path, client_for, manager, repo):
    proposal = make_proposal(repo=repo)
    Proposal.objects.filter(pk=proposal.pk).update(
        rationale="Résumé: faster totals\n\n---\ndiff --git a/x b/x\nFrom evil\nbody"
    )
    response = client_for(manager).get(reverse("reviews:proposal_patch", args=[proposal.pk]))
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    (tmp_path / "fix.patch").write_bytes(response.content)
    git(clone, "am", "-q", str(tmp_path / "fix.patch"))
    assert git(clone, "log", "-1", "--format=%s") == "Résumé: faster totals"
    assert (clone / "invoice" / "calc.py").read_text() == FIXED
    assert git(clone, "diff", "--name-only", "HEAD^", "HEAD") == "invoice/calc.py"


@pytest.mark.django_db
def test_patch_download_needs_a_role(client, client_for, outsider, repo):
    proposal = make_proposal(repo=repo)
    url = reverse("reviews:proposal_patch", args=[proposal.pk])
    assert client.get(url).status_code == 302
    assert client_for(outsider).get(url).status_code == 403


@pytest.mark.django_db
def test_an_unsafe_patch_is_not_offered_for_download(client_for, reviewer, repo):
    diff = (
        "diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml\n"
        "--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n"
        "@@ -1 +1 @@\n-a\n+b\n"
    )
    proposal = make_proposal(repo=repo, diff=diff)
    response = client_for(reviewer).get(reverse("reviews:proposal_patch", args=[proposal.pk]))
    assert response.status_code == 409
    assert "CI configuration" in response.content.decode()


@pytest.mark.django_db
def test_re_solving_a_stale_proposal_queues_the_next_revision(client_for, repo, reviewer):
    from reviews.models import SolveRun

    proposal = make_proposal(repo=repo)
    (repo / "invoice" / "calc.py").write_text(ORIGINAL.replace("result = 0", "result = 0.0"))
    git(repo, "commit", "-q", "-am", "Floats")
    with pytest.raises(DecisionStale):
        proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    client = client_for(reviewer)
    page = client.get(reverse("reviews:proposal", args=[proposal.pk]))
    action = reverse("reviews:solve-request", args=[proposal.finding_id])
    assert f'action="{action}"' in page.content.decode()
    client.post(action)
    assert Finding.objects.get(pk=proposal.finding_id).status == Finding.Status.SOLVING
    run = SolveRun.objects.filter(finding_id=proposal.finding_id).order_by("-id").first()
    assert (run.revision, run.status) == (2, SolveRun.Status.QUEUED)


@pytest.mark.django_db
def test_markdown_headings_in_the_rationale_survive_in_the_commit_message(repo, reviewer):
    proposal = make_proposal(repo=repo)
    Proposal.objects.filter(pk=proposal.pk).update(
        rationale="Use sum()\n\n## Why it saves CPU\n\nThe loop runs in bytecode.\n"
    )
    proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    message = git(repo, "log", "-1", "--format=%B", f"wattson/{proposal.finding_id}-r1")
    assert "\nWhy it saves CPU\n" in message and "#" not in message
    assert message.splitlines()[0] == "Use sum()"


@pytest.mark.django_db
def test_the_fix_commit_message_is_plain_text_wrapped_at_72(repo, reviewer):
    reviewer.first_name, reviewer.last_name, reviewer.email = "Rita", "R", "rita@example.com"
    reviewer.save()
    proposal = make_proposal(repo=repo)
    rationale = (
        "## Precompile the **regular expressions** used by `clean_line()` in the invoice "
        "renderer's per-line hot loop\n\n"
        "`re.sub` with a *string* pattern looks the pattern up in re's cache on every call; "
        "with [compiled patterns](https://docs.python.org/3/library/re.html) the lookup "
        "happens once at import time, so each line costs less.\n\n"
        "- keeps **behaviour**\n- saves ~40 % of `clean_line`\n\n"
        "```python\n"
        "_SPACES = re.compile(r'\\s+')  # a long line of code is never wrapped, ever\n"
        "```\n"
    )
    Proposal.objects.filter(pk=proposal.pk).update(rationale=rationale)
    proposal_decide(proposal=proposal, actor=reviewer, verdict="approve")
    message = git(repo, "log", "-1", "--format=%B", f"wattson/{proposal.finding_id}-r1")
    lines = message.splitlines()
    subject = lines[0]
    assert subject == "Precompile the regular expressions used by clean_line() in the..."
    assert len(subject) <= 72 and lines[1] == ""
    # The whole title is kept in the body; no Markdown syntax is left anywhere.
    assert "invoice renderer's per-line hot loop" in " ".join(lines)
    for syntax in ("**", "`", "##", "](", "```"):
        assert syntax not in message, syntax
    assert "compiled patterns (https://docs.python.org/3/library/re.html)" in " ".join(lines)
    assert "- keeps behaviour\n- saves ~40 % of clean_line\n" in message
    code = "    _SPACES = re.compile(r'\\s+')  # a long line of code is never wrapped, ever"
    assert code in lines
    assert all(len(line) <= 72 for line in lines if line != code)
    assert lines[-1] == "Reviewed-by: Rita R <rita@example.com>"
