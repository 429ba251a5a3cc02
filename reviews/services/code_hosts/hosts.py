"""Which code host a repository URL lives on, and the secrets Wattson holds for each host.

The host is read from the repository's URL: github.com (API api.github.com) and the hosts in
WATTSON_GITHUB_HOSTS (GitHub Enterprise: API WATTSON_GITHUB_API_URL, by default
https://<host>/api/v3) are GitHub; gitlab.com and WATTSON_GITLAB_HOSTS (WATTSON_GITLAB_URL, by
default https://<host>) are GitLab. Tokens and webhook secrets come from the environment each
time they are used, so rotating one needs no restart, and they are never stored, logged or
shown.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

GITHUB = "github"
GITLAB = "gitlab"

TOKEN_ENV = {GITHUB: "WATTSON_GITHUB_TOKEN", GITLAB: "WATTSON_GITLAB_TOKEN"}
WEBHOOK_SECRET_ENV = {
    GITHUB: "WATTSON_GITHUB_WEBHOOK_SECRET",
    GITLAB: "WATTSON_GITLAB_WEBHOOK_TOKEN",
}

# scp-like git URLs: [user@]host:path (no scheme, no slash before the colon).
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


@dataclass(frozen=True)
class HostTarget:
    """Where a repository's pull requests go: the host kind, its API root, the project path."""

    host: str  # GITHUB or GITLAB
    api_url: str
    project: str  # "owner/name" (GitHub) or "group/subgroup/name" (GitLab)


def _host_and_path(url: str) -> tuple[set[str], str]:
    """The names a URL's host may be configured under ("host" and "host:port"), and its path."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        names = {host, f"{host}:{parts.port}"} if parts.port else {host}
        return names, parts.path
    match = _SCP_LIKE.match(url)
    if match:
        return {match["host"].lower()}, match["path"]
    return set(), ""


def _project_path(path: str) -> str:
    path = path.strip("/")
    return path.removesuffix(".git").strip("/")


def host_for_url(url: str) -> HostTarget | None:
    """The code host of a repository URL, or None for a local path or a host we do not know."""
    if not url:
        return None
    names, path = _host_and_path(url)
    project = _project_path(path)
    if not names or project.count("/") < 1:
        return None
    github_hosts = {h.lower() for h in settings.WATTSON_GITHUB_HOSTS}
    gitlab_hosts = {h.lower() for h in settings.WATTSON_GITLAB_HOSTS}
    host = min(names, key=len)
    if "github.com" in names or names & github_hosts:
        if project.count("/") != 1:
            return None  # GitHub repositories are exactly owner/name
        api_url = (
            "https://api.github.com"
            if "github.com" in names
            else settings.WATTSON_GITHUB_API_URL or f"https://{host}/api/v3"
        )
        return HostTarget(GITHUB, api_url.rstrip("/"), project)
    if "gitlab.com" in names or names & gitlab_hosts:
        api_url = (
            "https://gitlab.com"
            if "gitlab.com" in names
            else settings.WATTSON_GITLAB_URL or f"https://{host}"
        )
        return HostTarget(GITLAB, api_url.rstrip("/"), project)
    return None


def host_token(host: str) -> str:
    """The API token for `host`, read now from the environment; "" when unset."""
    return os.environ.get(TOKEN_ENV[host], "").strip()


def webhook_secret(host: str) -> str:
    """The shared secret webhooks from `host` must prove; "" when unset (all are refused)."""
    return os.environ.get(WEBHOOK_SECRET_ENV[host], "")
