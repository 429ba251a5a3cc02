"""Load the demo: users for every role, small git repositories with real regressions, findings.

Everything is idempotent: users that exist keep their passwords (unless asked to reset them),
repositories already built from the same fixtures are reused (a damaged or outdated build is
replaced, fix branches and all), findings already ingested are left alone. `manage.py demo` is
a thin wrapper around `demo_load`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from reviews.demo.catalog import (
    BENCH_CMD,
    COMMITTER,
    EXTRA_FINDINGS,
    EXTRA_SERVICES,
    REPOS,
    SOURCES,
    TEST_CMD,
    USERS,
    DemoRepo,
    DemoUser,
)
from reviews.demo.decided import demo_decided_history_ensure, past_decisions
from reviews.demo.history import HISTORIES, demo_history_load
from reviews.models import Finding, Proposal, Service, Source
from reviews.roles import SKILL_ADMIN
from reviews.services.audit import audit_record
from reviews.services.ingest import finding_ingest
from reviews.services.regressions import DETECT_SOURCE
from reviews.services.repositories import repository_register
from reviews.services.transitions import finding_transition
from skills.gitio import GitError, is_work_tree, run_git

# What a skill-admin needs in the Django admin: edit skills, read their versions and statistics.
SKILL_ADMIN_PERMISSIONS = (
    "add_skill",
    "change_skill",
    "view_skill",
    "view_skillversion",
    "view_skillstats",
)

# Written inside .git so the work tree stays clean: which fixtures the repository was built from.
MARKER = "wattson-demo.json"


class DemoError(Exception):
    """The demo could not be loaded; the message says what to do."""


@dataclass
class BuiltRepo:
    repo: DemoRepo
    path: Path
    shas: dict[str, str]  # fixture step -> commit sha
    built: bool  # False: an existing build was reused


@dataclass
class UserOutcome:
    username: str
    role: str
    created: bool
    password: str | None  # set only when created or reset in this run


@dataclass
class DemoReport:
    users: list[UserOutcome] = field(default_factory=list)
    repositories: list[BuiltRepo] = field(default_factory=list)
    findings_created: list[int] = field(default_factory=list)
    findings_total: int = 0
    proposals: int = 0
    solved: list[dict[str, Any]] = field(default_factory=list)
    solve_skipped: str = ""


# --- repositories -----------------------------------------------------------------------------


def demo_repos_root() -> Path:
    return Path(settings.VAR_DIR) / "demo-repos"


def _fixture_files(step_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in step_dir.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _fingerprint(repo: DemoRepo) -> str:
    """Changes whenever a fixture file or a commit's metadata changes."""
    digest = hashlib.sha256()
    for commit in repo.commits:
        digest.update(repr((commit.step, commit.author, commit.date, commit.message)).encode())
        step_dir = repo.fixture_dir / commit.step
        for path in _fixture_files(step_dir):
            digest.update(str(path.relative_to(step_dir)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path / ".git" / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _reusable(path: Path, fingerprint: str) -> dict[str, str] | None:
    """The recorded shas when `path` holds an intact build of these fixtures."""
    marker = _read_marker(path)
    if not marker or marker.get("fingerprint") != fingerprint or not is_work_tree(path):
        return None
    shas = marker.get("shas") or {}
    head = run_git(path, "rev-parse", "--verify", "--quiet", "refs/heads/main", check=False)
    if not shas or head.stdout.strip() != list(shas.values())[-1]:
        return None
    # The solver reads the work tree: it must still be the committed tree.
    status = run_git(path, "status", "--porcelain", "--untracked-files=no", check=False)
    if status.returncode != 0 or status.stdout.strip():
        return None
    return shas


def demo_repo_build(repo: DemoRepo, *, root: Path) -> BuiltRepo:
    """Build `repo` into root/<name>, or reuse an intact earlier build of the same fixtures."""
    path = root / repo.name
    fingerprint = _fingerprint(repo)
    shas = _reusable(path, fingerprint)
    if shas is not None:
        return BuiltRepo(repo, path, shas, built=False)

    root.mkdir(parents=True, exist_ok=True)
    # Build beside the target and swap it in, so an interrupted build never looks intact.
    staging = root / f".{repo.name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        run_git(staging, "init", "-q", "-b", "main")
        shas = {}
        for commit in repo.commits:
            step_dir = repo.fixture_dir / commit.step
            for source in _fixture_files(step_dir):
                target = staging / source.relative_to(step_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            env = {
                "GIT_AUTHOR_NAME": commit.author.name,
                "GIT_AUTHOR_EMAIL": commit.author.email,
                "GIT_AUTHOR_DATE": commit.date,
                "GIT_COMMITTER_NAME": COMMITTER[0],
                "GIT_COMMITTER_EMAIL": COMMITTER[1],
                "GIT_COMMITTER_DATE": commit.date,
            }
            run_git(staging, "add", "-A", env=env)
            run_git(staging, "commit", "-q", "--no-verify", "-m", commit.message, env=env)
            shas[commit.step] = run_git(staging, "rev-parse", "HEAD").stdout.strip()
        (staging / ".git" / MARKER).write_text(
            json.dumps({"fingerprint": fingerprint, "shas": shas}, indent=2)
        )
    except (GitError, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise DemoError(f"could not build the demo repository {repo.name}: {exc}") from None
    shutil.rmtree(path, ignore_errors=True)
    staging.rename(path)
    return BuiltRepo(repo, path, shas, built=True)


# --- users ------------------------------------------------------------------------------------


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def demo_users_ensure(*, reset_passwords: bool = False) -> list[UserOutcome]:
    """Create the demo users (roles as groups); passwords only for new users or on reset."""
    user_model = get_user_model()
    outcomes = []
    with transaction.atomic():
        for spec in USERS:
            user = user_model.objects.filter(username=spec.username).first()
            created = user is None
            if created:
                user = _user_create(spec)
            password = None
            if created or reset_passwords:
                password = _new_password()
                user.set_password(password)
                user.save(update_fields=["password"])
            # Repairs a demo user whose groups were edited away; adding is harmless otherwise.
            for name in spec.groups:
                group, _ = Group.objects.get_or_create(name=name)
                user.groups.add(group)
                if name == SKILL_ADMIN:
                    _skill_admin_permissions_ensure(group)
            outcomes.append(UserOutcome(spec.username, spec.role, created, password))
    return outcomes


def _skill_admin_permissions_ensure(group: Group) -> None:
    """The role is a group; the admin also checks model permissions, so the group carries them."""
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="skills", codename__in=SKILL_ADMIN_PERMISSIONS
        )
    )


def _user_create(spec: DemoUser):
    user_model = get_user_model()
    first, _, last = spec.full_name.partition(" ")
    fields = {"email": spec.email, "first_name": first, "last_name": last}
    if spec.role == "superuser":
        user = user_model.objects.create_superuser(username=spec.username, **fields)
    else:
        # Skill-admins edit skills in the Django admin, which only staff may enter.
        user = user_model.objects.create_user(
            username=spec.username, is_staff=spec.role == SKILL_ADMIN, **fields
        )
    audit_record(actor=None, verb="user.create", target=user, data={"via": "demo"})
    return user


# --- findings ---------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _repo_payloads(built: BuiltRepo, now: datetime) -> list[tuple[dict[str, Any], float]]:
    out = []
    for finding in built.repo.findings:
        if finding.from_history:
            continue
        payload: dict[str, Any] = {
            "kind": finding.kind,
            "external_id": finding.external_id,
            "source": finding.source,
            "service": built.repo.service,
            "repository": built.repo.name,
            "title": finding.title,
            "metric": "cpu",
            "magnitude_pct": finding.magnitude_pct,
            "confidence": finding.confidence,
            "detected_at": _iso(now - timedelta(hours=finding.age_hours)),
            "functions": [{"symbol": finding.symbol, "file": finding.file}],
        }
        if finding.root_cause_step:
            commit = next(c for c in built.repo.commits if c.step == finding.root_cause_step)
            payload["root_cause"] = {
                "commit": built.shas[finding.root_cause_step],
                "title": commit.message,
                "author": commit.author.email,
            }
        if finding.pattern:
            payload["pattern"] = finding.pattern
        if finding.evidence:
            payload["evidence"] = finding.evidence
        out.append((payload, finding.age_hours))
    return out


def _extra_payloads(now: datetime) -> list[tuple[dict[str, Any], float]]:
    out = []
    for extra in EXTRA_FINDINGS:
        module, _, _function = extra.symbol.rpartition(".")
        payload: dict[str, Any] = {
            "kind": extra.kind,
            "external_id": extra.external_id,
            "source": extra.source,
            "service": extra.service,
            "title": extra.title,
            "metric": extra.metric,
            "magnitude_pct": extra.magnitude_pct,
            "detected_at": _iso(now - timedelta(hours=extra.age_hours)),
            "functions": [{"symbol": extra.symbol, "file": module.replace(".", "/") + ".py"}],
        }
        if extra.author:
            # Not a real commit: these services' repositories are not registered in the demo.
            sha = hashlib.sha1(extra.external_id.encode(), usedforsecurity=False).hexdigest()
            payload["root_cause"] = {"commit": sha, "author": extra.author}
        out.append((payload, extra.age_hours))
    return out


def _services_ensure(built: list[BuiltRepo]) -> None:
    """Fleet figures that make the estimated watts look like a real fleet's."""
    figures = {b.repo.service: (b.repo.fleet_servers, b.repo.team) for b in built}
    figures.update(EXTRA_SERVICES)
    for name, (fleet_servers, team) in figures.items():
        service, created = Service.objects.get_or_create(
            name=name, defaults={"fleet_servers": fleet_servers, "team": team}
        )
        if created:
            audit_record(actor=None, verb="service.create", target=service, data={"via": "demo"})
        elif not service.team:
            service.team = team
            service.save(update_fields=["team"])


def _sources_ensure() -> None:
    for name, auto_solve in SOURCES.items():
        Source.objects.get_or_create(name=name, defaults={"auto_solve": auto_solve})


def demo_findings_ingest(built: list[BuiltRepo], *, actor: Any | None = None) -> list[int]:
    """Ingest the demo findings not yet stored; returns the ids created."""
    now = timezone.now()
    wanted = [p for b in built for p in _repo_payloads(b, now)] + _extra_payloads(now)
    stored = set(
        Finding.objects.filter(
            external_id__in=[p["external_id"] for p, _ in wanted],
            source__in=SOURCES,
        ).values_list("source", "external_id")
    )
    # The detection time is relative to now, so a resend would differ from the stored body:
    # what is stored already is simply left alone.
    missing = [(p, age) for p, age in wanted if (p["source"], p["external_id"]) not in stored]
    detected = _histories_load(built, now)
    if not missing:
        return detected
    result = finding_ingest(payload=[p for p, _ in missing], actor=actor)
    if not result.ok:
        raise DemoError(f"the demo findings were refused by ingest: {result.errors[:3]}")
    created_ids = list(result.created) + detected
    by_key = {(f.source, f.external_id): f for f in Finding.objects.filter(pk__in=created_ids)}
    for payload, age_hours in missing:
        finding = by_key.get((payload["source"], payload["external_id"]))
        if finding is None:
            continue
        # Backdated so the queue and the reports show findings of different ages; this is
        # demo data, not a status change, so it does not go through a transition.
        Finding.objects.filter(pk=finding.pk).update(created_at=now - timedelta(hours=age_hours))
    _close_extras(by_key)
    return created_ids


def _histories_load(built: list[BuiltRepo], now: datetime) -> list[int]:
    """The profile histories, through detection: the ids of the findings it newly filed."""
    created = []
    for history in HISTORIES:
        repo = next((b for b in built if b.repo.name == history.repository), None)
        if repo is None:
            continue
        expected = next(f for f in repo.repo.findings if f.from_history)
        for filed in demo_history_load(history, shas=repo.shas, service=repo.repo.service):
            if filed.created:
                created.append(filed.finding)
                # Backdated like the others: the queue shows findings of different ages.
                moment = now - timedelta(hours=expected.age_hours)
                Finding.objects.filter(pk=filed.finding).update(created_at=moment)
    return created


def _close_extras(by_key: dict[tuple[str, str], Finding]) -> None:
    closer = get_user_model().objects.filter(username="rita").first()
    for extra in EXTRA_FINDINGS:
        finding = by_key.get((extra.source, extra.external_id))
        if extra.closed_reason and finding is not None and finding.status == Finding.Status.NEW:
            finding_transition(
                finding, Finding.Status.CLOSED, actor=closer, reason=extra.closed_reason
            )


# --- solving ----------------------------------------------------------------------------------


def demo_solve_now(finding_ids: list[int], *, actor: Any | None) -> tuple[list[dict], str]:
    """Solve the demo repositories' unsolved findings in this process (no worker needed)."""
    try:
        # Imported here: the solver pulls in the skills machinery, which loading users and
        # findings does not need.
        from reviews.services.bisect import finding_bisect
        from reviews.services.solving import solve_request, solve_run_execute
    except ImportError as exc:
        return [], f"the solver is not available ({exc})"
    results = []
    findings = Finding.objects.filter(pk__in=finding_ids, repository__isnull=False)
    # A detected regression is bisected first, as the worker would, so the solver starts from
    # the commit bisect named.
    for finding in findings.filter(source=DETECT_SOURCE):
        finding_bisect(finding_id=finding.pk)
    for finding in findings.order_by("pk"):
        if finding.proposals.filter(is_current=True).exists():
            continue
        # Joins the run auto-solve queued on ingest, if any; this process runs it and the
        # worker later finds it finished and skips it.
        run = solve_request(finding=finding, actor=actor, enqueue=False)
        solve_run_execute(run_id=run.pk)
        run.refresh_from_db()
        proposal = Proposal.objects.filter(solve_run=run).values_list("pk", flat=True).first()
        results.append(
            {"finding": finding.pk, "run": run.pk, "status": run.status, "proposal": proposal}
        )
    return results, ""


# --- the whole demo ---------------------------------------------------------------------------


def demo_findings() -> list[int]:
    """Ids of the demo's findings that are stored."""
    external_ids = [f.external_id for repo in REPOS for f in repo.findings]
    external_ids += [extra.external_id for extra in EXTRA_FINDINGS]
    stored = Finding.objects.filter(source__in=SOURCES, external_id__in=external_ids)
    detected = Finding.objects.filter(
        source=DETECT_SOURCE, repository__name__in=[h.repository for h in HISTORIES]
    )
    past = Finding.objects.filter(external_id__in=[p.external_id for p in past_decisions()])
    return [
        *stored.values_list("pk", flat=True),
        *detected.values_list("pk", flat=True),
        *past.values_list("pk", flat=True),
    ]


def demo_load(*, reset_passwords: bool = False, solve_now: bool = False) -> DemoReport:
    """Users, repositories, services, findings; optionally solve them right away."""
    report = DemoReport()
    report.users = demo_users_ensure(reset_passwords=reset_passwords)
    root = demo_repos_root()
    report.repositories = [demo_repo_build(repo, root=root) for repo in REPOS]
    admin = get_user_model().objects.get(username="admin")
    _services_ensure(report.repositories)
    for built in report.repositories:
        repository_register(
            name=built.repo.name,
            path=built.path,
            service_name=built.repo.service,
            test_cmd=TEST_CMD,
            bench_cmd=BENCH_CMD,
            branch="main",
            actor=admin,
        )
    _sources_ensure()
    report.findings_created = demo_findings_ingest(report.repositories)
    report.findings_created += demo_decided_history_ensure(now=timezone.now())
    ids = demo_findings()
    report.findings_total = len(ids)
    if solve_now:
        report.solved, report.solve_skipped = demo_solve_now(ids, actor=admin)
    report.proposals = Proposal.objects.filter(finding_id__in=ids).count()
    return report
