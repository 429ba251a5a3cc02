"""Which registered repository a finding's code lives in: the one rule, for every caller.

The solver, the approval gate and the pages all read the finding's code from this repository;
were they to resolve it differently, a reviewer could approve a diff against one checkout and
the fix branch land in another.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from reviews.models import Finding, Repository
from reviews.services.code_hosts.hosts import GITHUB, host_for_url
from skills.gitio import GitError
from skills.mirrors import mirror_ensure
from skills.worktrees import WorktreeError


def finding_repository(finding: Finding) -> Repository | None:
    """The finding's own repository, else its service's; None when neither is registered."""
    if finding.repository_id:
        return finding.repository
    return finding.service.repository if finding.service_id else None


@dataclass(frozen=True)
class ApprovalDelivery:
    """What approving a fix does for a repository, for the decision form to say plainly."""

    remote: str = ""  # the URL the branch is pushed to; "" for a local work tree
    host_name: str = ""  # "GitHub" or "GitLab" when a pull/merge request is opened
    request_noun: str = ""  # "pull request" or "merge request"
    project: str = ""


def approval_delivery(repository: Repository | None) -> ApprovalDelivery:
    """A local branch only, a push, or a push and a pull request (reviews.services.code_hosts)."""
    if repository is None or not repository.url:
        return ApprovalDelivery()
    target = host_for_url(repository.url)
    if target is None:
        return ApprovalDelivery(remote=repository.url)
    github = target.host == GITHUB
    return ApprovalDelivery(
        remote=repository.url,
        host_name="GitHub" if github else "GitLab",
        request_noun="pull request" if github else "merge request",
        project=target.project,
    )


def repository_read_path(
    repository: Repository, *, commits: tuple[str, ...] = ()
) -> tuple[str, str]:
    """(path, problem): where a page reads `repository` on this machine, or why it cannot.

    A local work tree is its path. A URL repository is this machine's mirror, made or fetched
    now when it lacks `commits` (the web process has none until it needs one), each network step
    bounded by WATTSON_PAGE_GIT_TIMEOUT_S; a mirror that has the commits is not fetched again
    for its age, so a page view costs no network. Never raises: the problem is shown instead.
    """
    if not repository.url:
        return repository.path, ""
    try:
        mirror = mirror_ensure(
            name=repository.name,
            url=repository.url,
            default_branch=repository.default_branch,
            commits=commits,
            max_age_s=float("inf"),
            network_timeout_s=settings.WATTSON_PAGE_GIT_TIMEOUT_S,
        )
    except (GitError, WorktreeError, OSError) as exc:
        return "", f"The repository {repository.name} cannot be read on this server: {exc}"
    return str(mirror.checkout), ""
