"""The plain SolveContext the solver sees: the finding, its repository, the skills to try.

The solver never sees a Django model (STYLE.md rule 6): everything it needs is copied here.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.db.models import F

from reviews.models import Finding, Repository, SolveRun
from reviews.selectors.repositories import finding_repository
from reviews.services.repositories import repository_local_path
from skills.gitio import GitError, is_work_tree
from skills.models import Skill, SkillStats
from skills.solver.types import Fleet, FunctionRef, RootCause, SkillSpec, SolveContext


class SolveSetupError(Exception):
    """The finding cannot be solved as registered (no repository, path gone, not git)."""


def no_repository_reason(finding: Finding) -> str:
    """Why `finding` cannot be solved for want of a repository; "" when one is registered."""
    if finding_repository(finding) is not None:
        return ""
    service = finding.service.name if finding.service_id else "(none)"
    return (
        f"no repository is registered for service {service}: register one with "
        f"`manage.py add_repo NAME PATH --service {service}` and request the fix again"
    )


def _local_path(repository: Repository, finding: Finding) -> str:
    """The repository's work tree on this machine: its path, or its mirror's checkout (fetched
    when it lacks the finding's root-cause commit); SolveSetupError says why it is not usable."""
    if repository.url:
        commits = (finding.root_cause_commit,) if finding.root_cause_commit else ()
        try:
            return repository_local_path(repository, commits=commits)
        except GitError as exc:
            raise SolveSetupError(f"repository {repository.name}: {exc}") from None
    if not os.path.isdir(repository.path):
        raise SolveSetupError(
            f"repository {repository.name}: path {repository.path} does not exist (moved or "
            "deleted?); update it with `manage.py add_repo`"
        )
    if not is_work_tree(repository.path):
        raise SolveSetupError(
            f"repository {repository.name}: {repository.path} is not a git work tree"
        )
    return repository.path


def solve_context_build(*, run: SolveRun) -> SolveContext:
    """The plain context the solver sees; SolveSetupError when the repository is not usable."""
    finding = run.finding
    repository = finding_repository(finding)
    if repository is None:
        # Unregistered after the fix was requested (solve_request refuses it before).
        raise SolveSetupError(no_repository_reason(finding))
    repo_path = _local_path(repository, finding)
    service = finding.service
    functions = tuple(
        FunctionRef(
            symbol=str(item.get("symbol", "")),
            file=item.get("file") or None,
            line=item.get("line"),
            cpu_share_pct=item.get("cpu_share_pct"),
        )
        for item in (finding.functions or [])
        if isinstance(item, dict) and item.get("symbol")
    )
    root_cause = None
    if finding.root_cause_commit:
        root_cause = RootCause(
            commit=finding.root_cause_commit,
            title=finding.root_cause_title,
            author=finding.root_cause_author,
            url=finding.root_cause_url,
        )
    previous_diff = ""
    if run.reviewer_comment:
        current = finding.proposals.filter(is_current=True).values_list("diff", flat=True).first()
        previous_diff = current or ""
    return SolveContext(
        finding_id=finding.pk,
        kind=finding.kind,
        title=finding.title,
        metric=finding.metric,
        magnitude_pct=finding.magnitude_pct,
        service=service.name,
        repo_path=repo_path,
        default_branch=repository.default_branch,
        functions=functions,
        fleet=Fleet(
            servers=service.fleet_servers,
            watts_per_server=service.watts_per_server,
            pue=service.pue,
            price_per_kwh=service.price_per_kwh,
        ),
        root_cause=root_cause,
        pattern=finding.pattern,
        evidence=finding.evidence or {},
        test_cmd=repository.test_cmd,
        bench_cmd=repository.bench_cmd,
        skills=skill_specs(),
        reviewer_comment=run.reviewer_comment,
        previous_diff=previous_diff,
        backend=run.backend,
    )


def skill_specs() -> tuple[SkillSpec, ...]:
    """Enabled skills at their current versions, with the review-statistics quality bound.

    The Wilson lower bound ranks a skill only once it has enough decisions: with one or two,
    the bound is low whatever they were (one approval gives 0.21), and would bury a skill
    reviewers liked below untried ones, which get the fixed prior.
    """
    bounds = dict(
        SkillStats.objects.filter(version__isnull=True, wilson_lower__isnull=False)
        .annotate(decided=F("approved") + F("rejected"))
        .filter(decided__gte=settings.WATTSON_ATTENTION_MIN_DECISIONS)
        .values_list("skill_id", "wilson_lower")
    )
    specs = []
    for skill in Skill.objects.filter(enabled=True).prefetch_related("versions"):
        versions = sorted(skill.versions.all(), key=lambda v: v.number)
        version = versions[-1] if versions else None
        specs.append(
            SkillSpec(
                slug=skill.slug,
                name=skill.name,
                side=skill.side,
                description=skill.description,
                trigger=skill.trigger or {},
                instructions=skill.instructions,
                mitigation=skill.mitigation,
                codemod=skill.codemod,
                expected_recovery=skill.expected_recovery,
                version_id=version.pk if version else None,
                version_number=version.number if version else None,
                quality_lower_bound=bounds.get(skill.pk),
                needs_attention=skill.needs_attention,
                preferred_backend=skill.preferred_backend,
            )
        )
    return tuple(specs)
