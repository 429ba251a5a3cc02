"""Builders for review-gate tests: a small real git repository and a proposal with a real diff."""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from pathlib import Path

from reviews.models import Finding, Proposal, Repository, Service, SolveRun
from skills.models import Skill

ORIGINAL = '''"""Invoice totals."""


def total(values):
    """Sum of the values."""
    result = 0
    for value in values:
        result = result + value
    return result


def mean(values):
    return total(values) / len(values)
'''

LOOP = (
    "    result = 0\n    for value in values:\n        result = result + value\n    return result\n"
)
FIXED = ORIGINAL.replace(LOOP, "    return sum(values)\n")

RATIONALE = (
    "Use the builtin sum() in total()\n\n"
    "The loop adds one value at a time in Python bytecode; sum() does it in C.\n"
)


def git(repo: str | Path, *args: str, env: dict | None = None) -> str:
    full_env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Base Author",
        "GIT_AUTHOR_EMAIL": "base@example.com",
        "GIT_COMMITTER_NAME": "ci",
        "GIT_COMMITTER_EMAIL": "ci@example.com",
        **(env or {}),
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env=full_env,
    ).stdout.strip()


def make_repo(dest: Path) -> Path:
    """A git work tree on `main` with invoice/calc.py committed."""
    (dest / "invoice").mkdir(parents=True)
    (dest / "invoice" / "calc.py").write_text(ORIGINAL)
    (dest / "README.md").write_text("invoice\n")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", ".")
    git(dest, "commit", "-q", "-m", "Initial")
    return dest


def diff_for(repo: Path, relpath: str, new_text: str) -> str:
    """The `git diff` that turns relpath into new_text (the work tree is restored after)."""
    target = repo / relpath
    old = target.read_text()
    target.write_text(new_text)
    try:
        return git(repo, "diff", "--", relpath) + "\n"
    finally:
        target.write_text(old)


def repo_state(repo: Path) -> dict:
    """What a user of the repository would notice: HEAD, its branch, the work tree status."""
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "symbolic-ref", "--short", "HEAD"),
        "main": git(repo, "rev-parse", "refs/heads/main"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
    }


def fix_branches(repo: Path) -> list[str]:
    out = git(repo, "branch", "--list", "wattson/*", "--format=%(refname:short)")
    return [line for line in out.splitlines() if line]


def make_skill(slug: str = "memoize") -> Skill:
    skill = Skill.objects.filter(slug=slug).first()
    if skill is None:
        skill = Skill(slug=slug, name=slug.replace("-", " ").title(), codemod=slug)
        skill.save()
    return skill


def make_proposal(
    *,
    repo: Path | None,
    diff: str | None = None,
    assignee=None,
    requested_by=None,
    run_requested_by=None,
    edited_by=None,
    skill_slug: str = "memoize",
    applies: bool = True,
    tests_passed: bool | None = True,
    estimated_watts: float = 120.0,
    measured_watts: float | None = None,
    revision: int = 1,
    finding: Finding | None = None,
) -> Proposal:
    """A pending, current proposal for a finding in review, with a diff against `repo`'s HEAD."""
    if finding is None:
        repository = None
        if repo is not None:
            repository, _ = Repository.objects.get_or_create(
                name=f"repo-{repo.name}-{uuid.uuid4().hex[:6]}", defaults={"path": str(repo)}
            )
        service, _ = Service.objects.get_or_create(name="invoicing")
        finding = Finding.objects.create(
            kind=Finding.Kind.REGRESSION,
            source="test",
            external_id=uuid.uuid4().hex,
            payload_sha256="0" * 64,
            service=service,
            repository=repository,
            title="total() got slower",
            metric="cpu",
            magnitude_pct=2.5,
            status=Finding.Status.IN_REVIEW,
            assignee=assignee,
            estimated_watts=estimated_watts,
        )
    if diff is None:
        diff = diff_for(repo, "invoice/calc.py", FIXED) if repo is not None else ""
    run = SolveRun.objects.create(
        finding=finding,
        revision=revision,
        status=SolveRun.Status.SUCCEEDED,
        requested_by=run_requested_by,
    )
    skill = make_skill(skill_slug)
    version = skill.current_version
    return Proposal.objects.create(
        finding=finding,
        revision=revision,
        solve_run=run,
        status=Proposal.Status.PENDING,
        is_current=True,
        skill_version=version,
        skill_slug=skill.slug,
        diff=diff,
        diff_sha256=hashlib.sha256(diff.encode()).hexdigest() if diff else "",
        base_commit=git(repo, "rev-parse", "HEAD") if repo is not None else "",
        rationale=RATIONALE,
        estimated_watts=estimated_watts,
        measured_watts=measured_watts,
        applies=applies,
        tests_passed=tests_passed,
        requested_by=requested_by,
        edited_by=edited_by,
    )
