"""This machine's mirrors of URL repositories: git plumbing only, no Django models.

A repository registered by URL (https, ssh, scp-like `git@host:path`, file://) is kept here as a
bare partial clone (`--filter=blob:none`: commits and trees, blobs fetched as a checkout needs
them) under settings.WATTSON_MIRROR_DIR/<name>-<hash of the URL>/:

    git/        the bare mirror; refs/heads/* track the remote's branches
    checkout/   a worktree of it, detached at the default branch's head: the local path the
                solver and the fix-branch code read, as they read a local repository's work tree

Nothing here is shared between machines: every worker keeps its own mirror and fetches on demand
(a commit it lacks, or a mirror older than WATTSON_MIRROR_MAX_AGE_S). Fetches and worktree
bookkeeping of one mirror are serialised by skills.worktrees.repo_lock, so concurrent solves
share it safely. Credentials come from the environment (skills.gitio.transport_env) and never
appear in a URL, a command line or a message.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from skills.gitio import GitError, run_git, scrub_secrets, transport_env
from skills.worktrees import NO_HOOKS, lock_wait_limit, mirror_dir, repo_lock

# scp-like syntax git accepts for ssh: [user@]host:path (no scheme, no slash before the colon).
_SCP_LIKE_RE = re.compile(r"^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:(?!//)[^\s]+$")
URL_SCHEMES = ("https", "http", "ssh", "file")
_FETCH_REFSPEC = "+refs/heads/*:refs/heads/*"


class MirrorError(GitError):
    """A mirror could not be made, fetched or pushed; `kind` says why, the message says it all.

    kind: "unreachable" (no such host or repository, network), "auth" (credentials missing or
    refused), "missing_commit" (the remote has no such commit), "git" (anything else).
    """

    def __init__(self, message: str, *, kind: str = "git") -> None:
        super().__init__(scrub_secrets(message))
        self.kind = kind


@dataclass(frozen=True)
class Mirror:
    """Where one URL repository's mirror lives on this machine."""

    url: str
    root: Path

    @property
    def git_dir(self) -> Path:
        return self.root / "git"

    @property
    def checkout(self) -> Path:
        return self.root / "checkout"

    def exists(self) -> bool:
        return (self.git_dir / "HEAD").is_file() and (self.checkout / ".git").is_file()


def is_remote_url(location: str) -> bool:
    """True for a clone URL (scheme://... or scp-like host:path), False for a local path."""
    scheme = urlsplit(location).scheme.lower()
    if scheme and "://" in location:
        return True
    return bool(_SCP_LIKE_RE.match(location)) and not Path(location).exists()


def url_problem(url: str) -> str:
    """Why `url` cannot be a repository's clone URL; "" when it can."""
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        return "must not contain spaces or control characters"
    if url.startswith("-"):
        return "must not start with '-'"
    if "://" not in url:
        if _SCP_LIKE_RE.match(url):
            return ""
        return "is neither a URL (https://, ssh://, file://) nor git@host:path"
    parsed = urlsplit(url)
    scheme = parsed.scheme.lower()
    if scheme not in URL_SCHEMES:
        return f"has the unsupported scheme {scheme}:// (use https://, ssh:// or file://)"
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            return "file:// URLs name a local path: file:///path/to/repo.git"
        if not parsed.path.startswith("/"):
            return "file:// URLs need an absolute path: file:///path/to/repo.git"
        return ""
    if not parsed.hostname:
        return "names no host"
    if parsed.password is not None:
        # A URL is stored in the database and shown on pages: a secret in it would leak there.
        return (
            "carries a password: put credentials in WATTSON_GIT_CREDENTIALS or "
            "WATTSON_GIT_TOKEN_<HOST> instead, never in the URL"
        )
    if scheme in ("http", "https") and parsed.username is not None:
        return "carries a user name: put it in WATTSON_GIT_CREDENTIALS instead"
    if not parsed.path.strip("/"):
        return "names no repository path"
    try:
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "has an invalid port"
    return ""


def mirror_for(*, name: str, url: str) -> Mirror:
    """The mirror of `url` on this machine (it may not exist yet); a new URL gets a new mirror."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "repo"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Mirror(url=url, root=mirror_dir() / f"{slug}-{digest}")


# A caller that must not wait the worker's full network timeout (a page) sets a shorter one for
# the duration of its mirror_ensure call.
_TIMEOUT_OVERRIDE: ContextVar[float | None] = ContextVar("mirror_timeout", default=None)


def _network_timeout() -> float:
    override = _TIMEOUT_OVERRIDE.get()
    return float(settings.WATTSON_GIT_NETWORK_TIMEOUT_S if override is None else override)


_AUTH_HINTS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "permission denied (publickey",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "invalid username or password",
    "terminal prompts disabled",
)
_UNREACHABLE_HINTS = (
    "could not resolve host",
    "connection refused",
    "failed to connect",
    "couldn't connect",
    "does not appear to be a git repository",
    "not found",
    "timed out",
    "no route to host",
    "network is unreachable",
    "could not read from remote repository",
    "returned error: 5",
)


def _classify(message: str) -> str:
    lowered = message.lower()
    if any(hint in lowered for hint in _AUTH_HINTS):
        return "auth"
    if any(hint in lowered for hint in _UNREACHABLE_HINTS):
        return "unreachable"
    return "git"


def _remote_error(action: str, url: str, exc: GitError) -> MirrorError:
    detail = str(exc)
    kind = _classify(detail)
    # git's words last: the reason a reviewer reads starts with what it means for them.
    lead = {
        "auth": f"the credentials for {url} were missing or refused while trying to {action} "
        "(set WATTSON_GIT_CREDENTIALS or WATTSON_GIT_TOKEN_<HOST> on every worker)",
        "unreachable": f"cannot reach {url} to {action}",
        "git": f"git failed to {action} {url}",
    }[kind]
    return MirrorError(f"{lead}: {detail}", kind=kind)


def _remote_git(mirror: Mirror, repo: Path, action: str, *args: str) -> None:
    try:
        run_git(repo, *args, timeout=_network_timeout(), env=transport_env(mirror.url))
    except GitError as exc:
        raise _remote_error(action, mirror.url, exc) from None


def _create(mirror: Mirror, default_branch: str) -> None:
    """Clone the bare partial mirror beside its final place, then move it in (all or nothing)."""
    mirror.root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".clone-", dir=mirror.root))
    try:
        _remote_git(
            mirror,
            staging,
            "clone",
            "clone",
            "--bare",
            "--quiet",
            "--filter=blob:none",
            "--",
            mirror.url,
            str(staging / "git"),
        )
        staged = staging / "git"
        # A bare clone copies branches but sets no fetch refspec: later fetches track them too.
        run_git(staged, "config", "remote.origin.fetch", _FETCH_REFSPEC)
        shutil.rmtree(mirror.git_dir, ignore_errors=True)
        staged.rename(mirror.git_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(mirror.checkout, ignore_errors=True)
    head = _branch_head(mirror, default_branch)
    with repo_lock(mirror.git_dir):
        run_git(mirror.git_dir, "worktree", "prune")
        try:
            run_git(
                mirror.git_dir,
                *NO_HOOKS,
                "worktree",
                "add",
                "--detach",
                "--quiet",
                str(mirror.checkout),
                head,
                timeout=_network_timeout(),
                env=transport_env(mirror.url),
            )
        except GitError as exc:
            raise _remote_error("check out", mirror.url, exc) from None


def _branch_head(mirror: Mirror, branch: str) -> str:
    found = run_git(
        mirror.git_dir,
        "rev-parse",
        "--verify",
        "--quiet",
        f"refs/heads/{branch}^{{commit}}",
        check=False,
    )
    if found.returncode != 0:
        raise MirrorError(
            f"{mirror.url} has no branch {branch!r}: set the repository's default branch "
            "(manage.py add_repo NAME URL --branch B)",
            kind="missing_commit",
        )
    return found.stdout.strip()


def has_commit(repo: str | Path, sha: str) -> bool:
    """Whether `repo` holds commit `sha` (never fetches: a missing commit is just missing)."""
    if not sha or sha.startswith("-"):
        return False
    result = run_git(
        repo,
        "cat-file",
        "-e",
        f"{sha}^{{commit}}",
        check=False,
        env={"GIT_NO_LAZY_FETCH": "1"},
    )
    return result.returncode == 0


def _fetch(mirror: Mirror, *commits: str) -> None:
    """Fetch every branch, then any named commit still missing (servers that allow it)."""
    _remote_git(mirror, mirror.git_dir, "fetch", "fetch", "--quiet", "--filter=blob:none", "origin")
    missing = [sha for sha in commits if not has_commit(mirror.git_dir, sha)]
    if missing and all(re.fullmatch(r"[0-9a-fA-F]{40}", sha) for sha in missing):
        # Not on any branch (a pull request's commit, say): ask for it by name. Servers that
        # refuse unadvertised commits answer an error, which is the same "missing" outcome.
        run_git(
            mirror.git_dir,
            "fetch",
            "--quiet",
            "--filter=blob:none",
            "origin",
            *missing,
            check=False,
            timeout=_network_timeout(),
            env=transport_env(mirror.url),
        )


def _age_s(mirror: Mirror) -> float:
    stamp = mirror.git_dir / "FETCH_HEAD"
    if not stamp.exists():
        stamp = mirror.git_dir / "HEAD"
    try:
        return time.time() - stamp.stat().st_mtime
    except OSError:
        return float("inf")


def _warm(mirror: Mirror, commits: tuple[str, ...]) -> None:
    """Fetch the blobs of each commit's own change now, with credentials, in one batch each.

    The solver's read-only tools may not fetch (skills.gitio.READ_ONLY_ENV), and the root cause's
    diff is the first thing they read.
    """
    for sha in commits:
        run_git(
            mirror.checkout,
            "show",
            "--format=",
            "--numstat",
            sha,
            "--",
            check=False,
            timeout=_network_timeout(),
            env=transport_env(mirror.url),
        )


def mirror_ensure(
    *,
    name: str,
    url: str,
    default_branch: str,
    commits: tuple[str, ...] = (),
    max_age_s: float | None = None,
    network_timeout_s: float | None = None,
) -> Mirror:
    """This machine's mirror of `url`, created, fetched and checked out as needed.

    Fetched when it lacks one of `commits` or was last fetched more than `max_age_s` ago
    (default settings.WATTSON_MIRROR_MAX_AGE_S); the checkout then moves to the default branch's
    head. Each network step gives up after `network_timeout_s` (default
    settings.WATTSON_GIT_NETWORK_TIMEOUT_S), and so does the wait for a mirror another process
    is fetching into when that is given (a page). Raises MirrorError or WorktreeError with a
    reason a reviewer can act on.
    """
    token = _TIMEOUT_OVERRIDE.set(network_timeout_s)
    try:
        with lock_wait_limit(network_timeout_s):
            return _ensure(name, url, default_branch, commits, max_age_s)
    finally:
        _TIMEOUT_OVERRIDE.reset(token)


def _ensure(
    name: str,
    url: str,
    default_branch: str,
    commits: tuple[str, ...],
    max_age_s: float | None,
) -> Mirror:
    mirror = mirror_for(name=name, url=url)
    commits = tuple(sha for sha in commits if sha)
    max_age = settings.WATTSON_MIRROR_MAX_AGE_S if max_age_s is None else max_age_s
    mirror.root.mkdir(parents=True, exist_ok=True)
    created = False
    with repo_lock(mirror.root):  # one creator per mirror
        if not mirror.exists():
            _create(mirror, default_branch)
            created = True
    with repo_lock(mirror.git_dir):
        missing = [sha for sha in commits if not has_commit(mirror.git_dir, sha)]
        # A mirror cloned just now is as fresh as it gets; its missing commits are fetched by name.
        if missing or (not created and _age_s(mirror) > max_age):
            _fetch(mirror, *missing)
            missing = [sha for sha in commits if not has_commit(mirror.git_dir, sha)]
        if missing:
            raise MirrorError(
                f"commit {missing[0]} is not in {url} (fetched every branch): was it pushed, "
                "or rewritten by a force-push? Request the fix again once it is there",
                kind="missing_commit",
            )
        head = _branch_head(mirror, default_branch)
        checked_out = run_git(mirror.checkout, "rev-parse", "HEAD", check=False).stdout.strip()
        if checked_out != head:
            try:
                run_git(
                    mirror.checkout,
                    *NO_HOOKS,
                    "checkout",
                    "--quiet",
                    "--force",
                    "--detach",
                    head,
                    timeout=_network_timeout(),
                    env=transport_env(url),
                )
            except GitError as exc:
                raise _remote_error("check out", url, exc) from None
        _warm(mirror, commits)
    return mirror


def bundle_create(repo: str | Path, *, commit: str, base: str) -> bytes:
    """A git bundle of `commit` on top of `base`: what another machine needs to push it."""
    folder = Path(tempfile.mkdtemp(prefix="wattson-bundle-"))
    try:
        path = folder / "fix.bundle"
        ref = f"refs/wattson/bundle-{uuid.uuid4().hex[:8]}"
        run_git(repo, "update-ref", ref, commit)
        try:
            run_git(repo, "bundle", "create", "--quiet", str(path), ref, f"^{base}")
        finally:
            run_git(repo, "update-ref", "-d", ref, check=False)
        return path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bundle_unpack(mirror: Mirror, bundle: bytes) -> None:
    """Add a bundle's objects to the mirror (its base commit must be there already)."""
    folder = Path(tempfile.mkdtemp(prefix="wattson-bundle-"))
    try:
        path = folder / "fix.bundle"
        path.write_bytes(bundle)
        with repo_lock(mirror.git_dir):
            run_git(mirror.git_dir, "bundle", "unbundle", str(path))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def mirror_push(mirror: Mirror, *, commit: str, branch: str) -> None:
    """Push `commit` as refs/heads/<branch> to the mirror's remote; never forced.

    Pushing the same commit again is a no-op, so a retry after a lost answer is safe; a branch
    of that name at another commit is refused by the remote, and that is reported.
    """
    run_git(mirror.git_dir, "check-ref-format", f"refs/heads/{branch}")
    _remote_git(
        mirror,
        mirror.git_dir,
        "push",
        "push",
        "--quiet",
        "--no-verify",
        "origin",
        f"{commit}:refs/heads/{branch}",
    )
