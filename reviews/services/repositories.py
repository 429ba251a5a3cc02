"""Registering the git repositories the solver reads and validates fixes in."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from reviews.models import Repository, Service
from reviews.services.audit import audit_record
from skills.gitio import GitError, is_work_tree, run_git, scrub_secrets
from skills.mirrors import is_remote_url, mirror_ensure, mirror_for, url_problem


class RepositoryError(Exception):
    """The repository cannot be registered as asked; the message says how to fix it."""


@dataclass(frozen=True)
class RegisterResult:
    repository: Repository
    service: Service | None
    created: bool


def _check_length(label: str, value: str, model: type, field_name: str) -> None:
    limit = model._meta.get_field(field_name).max_length
    if len(value) > limit:
        raise RepositoryError(f"{label} is {len(value)} characters; at most {limit} allowed")


def _check_text(label: str, value: str) -> None:
    # Undecodable bytes in an argument arrive as lone surrogates (Python's surrogateescape): no
    # database, log or page can hold them.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RepositoryError(
            f"{label} is not valid UTF-8 text: pass it in the locale's UTF-8 encoding"
        ) from None


def _check_branch(root: Path, branch: str) -> None:
    """git's own rules for a branch name (check-ref-format), checked when it is registered."""
    # "-x" would read as an option to the git commands that later name the branch; "HEAD" is
    # not a branch. check-ref-format takes the full ref name, so "@{-1}" is not expanded.
    valid = not branch.startswith("-") and branch != "HEAD"
    if valid:
        result = run_git(root, "check-ref-format", f"refs/heads/{branch}", check=False)
        valid = result.returncode == 0
    if not valid:
        raise RepositoryError(
            f"--branch {branch!r} is not a valid git branch name (see `git help "
            "check-ref-format`: no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', no "
            "leading '-' or trailing '.lock' or '/')"
        )


def _work_tree_root(path: Path) -> Path:
    if not is_work_tree(path):
        raise RepositoryError(
            f"{path} is not a git work tree: pass the directory of a cloned repository "
            "(`git -C PATH rev-parse --show-toplevel` should print it)"
        )
    try:
        top = Path(run_git(path, "rev-parse", "--show-toplevel").stdout.strip()).resolve()
    except GitError as exc:
        raise RepositoryError(str(exc)) from None
    if top != path:
        # File paths in findings are relative to the repository root; a subdirectory would make
        # every one of them wrong.
        raise RepositoryError(f"{path} is inside the git work tree {top}: pass {top} instead")
    return top


def _check_url(url: str) -> str:
    url = url.strip()
    problem = url_problem(url)
    if problem:
        raise RepositoryError(f"URL {scrub_secrets(url)!r} {problem}")
    return url


def _location(path: str | Path, branch: str | None) -> dict[str, str]:
    """{"path", "url"} for a local work tree or a clone URL (the other one emptied)."""
    location = str(path)
    if is_remote_url(location):
        url = _check_url(location)
        _check_length("URL", url, Repository, "url")
        if branch is not None:
            # check-ref-format needs no repository: there is none here yet.
            _check_branch(Path(tempfile.gettempdir()), branch)
        return {"path": "", "url": url}
    root = _work_tree_root(Path(location).expanduser().resolve())
    _check_length("PATH", str(root), Repository, "path")
    if branch is not None:
        _check_branch(root, branch)
    return {"path": str(root), "url": ""}


def repository_local_path(
    repository: Repository, *, commits: tuple[str, ...] = (), max_age_s: float | None = None
) -> str:
    """Where this machine reads `repository`: its work tree, or for a URL its mirror's checkout.

    A URL repository's mirror is made, or fetched when it lacks one of `commits` or is older
    than WATTSON_MIRROR_MAX_AGE_S (skills.mirrors). Raises MirrorError with a reason to show.
    """
    if not repository.url:
        return repository.path
    mirror = mirror_ensure(
        name=repository.name,
        url=repository.url,
        default_branch=repository.default_branch,
        commits=commits,
        max_age_s=max_age_s,
    )
    return str(mirror.checkout)


def repository_checkout_path(repository: Repository) -> str:
    """Where `repository_local_path` puts this machine's copy, without fetching or checking it."""
    if not repository.url:
        return repository.path
    return str(mirror_for(name=repository.name, url=repository.url).checkout)


def repository_register(
    *,
    name: str,
    path: str | Path,
    service_name: str | None = None,
    test_cmd: str | None = None,
    bench_cmd: str | None = None,
    branch: str | None = None,
    actor: Any | None = None,
) -> RegisterResult:
    """Register a repository by name, or update the one of that name.

    `path` is a local work tree or a clone URL (https://, ssh://, git@host:path, file://);
    registering a URL checks its form only, so a worker can register a host that is down (the
    first solve clones it and says why when it cannot). Options left as None keep their stored
    value. `service_name` points that service (created with the default fleet figures when
    unknown) at this repository.
    """
    for label, value in (
        ("NAME", name),
        ("PATH or URL", str(path)),
        ("--service", service_name),
        ("--test-cmd", test_cmd),
        ("--bench-cmd", bench_cmd),
        ("--branch", branch),
    ):
        if value is not None:
            _check_text(label, value)
    name = name.strip()
    if not name:
        raise RepositoryError("NAME must not be empty")
    if branch is not None and not branch.strip():
        raise RepositoryError("--branch must not be empty")
    _check_length("NAME", name, Repository, "name")
    updates: dict[str, str] = _location(path, branch)
    for label, value, field_name in (
        ("--test-cmd", test_cmd, "test_cmd"),
        ("--bench-cmd", bench_cmd, "bench_cmd"),
        ("--branch", branch, "default_branch"),
    ):
        if value is not None:
            _check_length(label, value, Repository, field_name)
            updates[field_name] = value
    if service_name is not None:
        service_name = service_name.strip()
        if not service_name:
            raise RepositoryError("--service must not be empty")
        _check_length("--service", service_name, Service, "name")

    with transaction.atomic():
        repository, created = Repository.objects.get_or_create(name=name, defaults=updates)
        if created:
            audit_record(actor=actor, verb="repository.register", target=repository, data=updates)
        else:
            changed = {k: v for k, v in updates.items() if getattr(repository, k) != v}
            if changed:
                for field_name, value in changed.items():
                    setattr(repository, field_name, value)
                repository.save(update_fields=[*changed, "updated_at"])
                audit_record(actor=actor, verb="repository.update", target=repository, data=changed)
        service = None
        if service_name is not None:
            service, service_created = Service.objects.get_or_create(
                name=service_name, defaults={"repository": repository}
            )
            if not service_created and service.repository_id != repository.pk:
                old = service.repository_id
                service.repository = repository
                service.save(update_fields=["repository"])
                audit_record(
                    actor=actor,
                    verb="service.repository",
                    target=service,
                    data={"old_repository": old, "new_repository": repository.pk},
                )
            elif service_created:
                audit_record(
                    actor=actor, verb="service.create", target=service, data={"via": "add_repo"}
                )
    return RegisterResult(repository=repository, service=service, created=created)
