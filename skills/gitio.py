"""The one seam to git: every git subprocess in Wattson goes through run_git.

A registered repository is not trusted, and neither is its `.git/config`: git runs commands
named there (hooks, fsmonitor, filters, diff and merge drivers, ssh and credential helpers,
upload-pack/receive-pack programs, signing programs). run_git turns every one of them off on
every call, so no caller can forget, and hands git only a minimal environment with an empty
HOME: whatever git might still start never sees the worker's secrets.

A little over 500 lines on purpose: every guard around git (config, environment, credentials,
output decoding) sits in this one module, so no caller can reach git around it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

GIT_TIMEOUT_S = 30
# No prompts, no pager, no user/system config, no network helpers.
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "LC_ALL": "C",
}
# All git may keep of our environment; everything else (API keys, database URLs) stays ours.
_KEPT_ENV = ("PATH", "TZ", "TMPDIR")

# Passed as `-c` on every call: command-line config outranks the repository's own.
SAFE_CONFIG = (
    ("core.hooksPath", os.devnull),
    ("core.fsmonitor", "false"),
    ("core.sshCommand", "ssh"),
    ("core.pager", "cat"),
    ("core.editor", "false"),
    ("core.askPass", ""),
    ("core.alternateRefsCommand", ""),
    ("sequence.editor", "false"),
    ("diff.external", ""),
    ("credential.helper", ""),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("log.showSignature", "false"),
    ("submodule.recurse", "false"),
    ("protocol.ext.allow", "never"),
)
# Per-name settings a repository can define (filter.<name>.clean, diff.<name>.textconv...):
# each one found in its config is overridden with the harmless value on the right.
_NAMED_COMMANDS = {
    "filter": {"clean": "", "smudge": "", "process": "", "required": "false"},
    "diff": {"command": "", "textconv": "cat"},
    "merge": {"driver": "false"},
}
_NAMED_KEY_RE = re.compile(r"^(filter|diff|merge)\.(.+)\.([a-z]+)$", re.S)
# remote.<name>.uploadpack/receivepack: git keeps the first value it reads (the repository's),
# so the programs are named on the command line instead, which outranks config.
_TRANSPORT_FLAGS = {
    "fetch": ("--upload-pack=git-upload-pack",),
    "pull": ("--upload-pack=git-upload-pack",),
    "ls-remote": ("--upload-pack=git-upload-pack",),
    "clone": ("--upload-pack=git-upload-pack",),
    "push": ("--receive-pack=git-receive-pack",),
}
# Subcommands that can run a diff driver or textconv; they are told not to.
_NO_EXTERNAL_DIFF = {"diff", "show", "log", "format-patch", "whatchanged"}
_NO_TEXTCONV = _NO_EXTERNAL_DIFF | {"blame"}


# For inspecting a repository whose own config we do not trust (tools, MCP): no transport at all
# (so a partial clone cannot fetch lazily) and no fsmonitor hook. Passed as environment config
# (git >= 2.31) so it works for every subcommand without touching the argument list.
READ_ONLY_ENV = {
    "GIT_CONFIG_COUNT": "4",
    "GIT_CONFIG_KEY_0": "protocol.allow",
    "GIT_CONFIG_VALUE_0": "never",
    "GIT_CONFIG_KEY_1": "core.fsmonitor",
    "GIT_CONFIG_VALUE_1": "false",
    "GIT_CONFIG_KEY_2": "core.untrackedCache",
    "GIT_CONFIG_VALUE_2": "false",
    # File names as they are (not C-quoted octal) in grep/blame output read by a model.
    "GIT_CONFIG_KEY_3": "core.quotePath",
    "GIT_CONFIG_VALUE_3": "false",
    "GIT_NO_LAZY_FETCH": "1",
}


class GitError(Exception):
    """A git command failed; the message carries git's own words (with secrets scrubbed)."""


# --- credentials for code hosts ------------------------------------------------------------------
# Read from the environment at call time and handed only to the git commands that talk to that
# host (clone, fetch, push of a mirror, and a mirror's own lazy fetches), through GIT_ASKPASS:
# never on a command line, in a URL, or in a message.
CREDENTIALS_ENV = "WATTSON_GIT_CREDENTIALS"  # {"host[:port]": {"username": ..., "password": ...}}
TOKEN_ENV_PREFIX = "WATTSON_GIT_TOKEN_"  # WATTSON_GIT_TOKEN_GITHUB_COM=... (username below)
TOKEN_USERNAME = "x-access-token"
SSH_COMMAND_ENV = "WATTSON_GIT_SSH_COMMAND"  # e.g. "ssh -i /run/secrets/deploy_key"
_ASKPASS_SCRIPT = """#!/bin/sh
# Wattson's askpass: git asks for the username, then the password, of the one host it talks to.
case "$1" in
  Username*) printf '%s\\n' "$WATTSON_GIT_ASKPASS_USERNAME" ;;
  *) printf '%s\\n' "$WATTSON_GIT_ASKPASS_PASSWORD" ;;
esac
"""


class CredentialsError(GitError):
    """The credentials configured in the environment cannot be read (the value is not shown)."""


def _token_variable(host: str) -> str:
    return TOKEN_ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", host).upper()


def _configured_credentials() -> dict[str, tuple[str, str]]:
    """Every host's (username, password) from the environment; CredentialsError if unreadable."""
    found: dict[str, tuple[str, str]] = {}
    raw = os.environ.get(CREDENTIALS_ENV, "").strip()
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise CredentialsError(f"{CREDENTIALS_ENV} is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise CredentialsError(f"{CREDENTIALS_ENV} must be a JSON object keyed by host")
        for host, entry in parsed.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("password"), str):
                raise CredentialsError(
                    f"{CREDENTIALS_ENV}[{host!r}] must be an object with a password (and username)"
                )
            found[host.lower()] = (str(entry.get("username") or TOKEN_USERNAME), entry["password"])
    for name, value in os.environ.items():
        if name.startswith(TOKEN_ENV_PREFIX) and value:
            found.setdefault(name, (TOKEN_USERNAME, value))
    return found


def host_credentials(host: str) -> tuple[str, str] | None:
    """(username, password) for `host` ("host" or "host:port"), or None when none is set."""
    configured = _configured_credentials()
    host = host.lower()
    bare_host = host.rsplit(":", 1)[0] if ":" in host else host
    for key in (host, bare_host, _token_variable(host), _token_variable(bare_host)):
        if key in configured:
            return configured[key]
    return None


def secret_values() -> list[str]:
    """Every configured password or token, longest first (for scrubbing)."""
    try:
        values = {password for _user, password in _configured_credentials().values()}
    except CredentialsError:
        values = set()
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def scrub_secrets(text: str) -> str:
    """`text` with every configured credential and any URL userinfo password replaced by ***."""
    for secret in secret_values():
        text = text.replace(secret, "***")
    return re.sub(r"(://[^/@\s:]+):[^/@\s]+@", r"\1:***@", text)


@lru_cache(maxsize=1)
def _askpass_program() -> str:
    """A private askpass script that prints what the calling command's environment holds."""
    folder = tempfile.mkdtemp(prefix="wattson-git-askpass-")
    path = Path(folder) / "askpass"
    path.write_text(_ASKPASS_SCRIPT)
    path.chmod(0o700)
    return str(path)


def url_host(url: str) -> str:
    """The host (with its port, if any) of an http(s) or ssh URL; "" for a path or file URL."""
    parsed = urlsplit(url)
    if parsed.scheme in ("http", "https", "ssh") and parsed.hostname:
        return f"{parsed.hostname}:{parsed.port}" if parsed.port else parsed.hostname
    return ""


def transport_env(url: str) -> dict[str, str]:
    """Environment for a git command talking to `url`: its host's credentials, if any."""
    env: dict[str, str] = {}
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        credentials = host_credentials(url_host(url))
        if credentials is not None:
            env.update(
                GIT_ASKPASS=_askpass_program(),
                WATTSON_GIT_ASKPASS_USERNAME=credentials[0],
                WATTSON_GIT_ASKPASS_PASSWORD=credentials[1],
            )
    elif os.environ.get(SSH_COMMAND_ENV):
        env["GIT_SSH_COMMAND"] = os.environ[SSH_COMMAND_ENV]
    return env


def _subcommand(args: tuple[str, ...]) -> str:
    """The git subcommand in args, skipping leading `-c key=value` style options."""
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
        elif arg in ("-c", "-C"):
            skip_next = True
        elif not arg.startswith("-"):
            return arg
    return args[0] if args else "git"


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for git: no secrets of ours, an empty HOME, no user config."""
    env = {name: os.environ[name] for name in _KEPT_ENV if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = _empty_home()
    env.update(_GIT_ENV)
    env.update(extra or {})
    return env


@lru_cache(maxsize=1)
def _empty_home() -> str:
    """An empty directory for HOME, so nothing under the worker's home configures git."""
    return tempfile.mkdtemp(prefix="wattson-git-home-")


def git_dirs(repo: str | Path) -> tuple[Path, Path] | None:
    """(common, private) git directories of a work tree, a linked worktree or a bare repository.

    Read from the files git leaves (no subprocess); None when `repo` is none of these. A linked
    worktree's private dir holds its index and HEAD, the common dir the objects, refs and config.
    """
    repo = Path(repo)
    dot_git = repo / ".git"
    try:
        if dot_git.is_file():  # a worktree: `.git` names its private dir, `commondir` the shared
            text = dot_git.read_text(errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            private = (repo / text.removeprefix("gitdir:").strip()).resolve()
            common_file = private / "commondir"
            common = (
                (private / common_file.read_text().strip()).resolve()
                if common_file.is_file()
                else private
            )
            return common, private
    except OSError:
        return None
    if dot_git.is_dir():
        return dot_git.resolve(), dot_git.resolve()
    if (repo / "HEAD").is_file() and (repo / "objects").is_dir():  # a bare repository
        return repo.resolve(), repo.resolve()
    return None


def _config_stamp(repo: Path) -> tuple[object, ...] | None:
    """Size and mtime of the repository's config files, or None when they cannot be found."""
    dirs = git_dirs(repo)
    if dirs is None:
        return None
    common, private = dirs
    files = (common / "config", private / "config.worktree")
    stamp: list[object] = []
    for path in files:
        try:
            info = path.stat()
        except OSError:
            stamp.append((str(path), None))
            continue
        stamp.append((str(path), info.st_mtime_ns, info.st_size, info.st_ino))
    return tuple(stamp)


@lru_cache(maxsize=256)
def _named_overrides_cached(repo: str, stamp: tuple[object, ...]) -> tuple[tuple[str, str], ...]:
    return _named_overrides(repo)


def _named_overrides(repo: str) -> tuple[tuple[str, str], ...]:
    """Overrides for every filter, diff and merge driver the repository's config names.

    `git config --list` only reads config (it runs nothing); keys it prints as they are, so a
    name with dots or `=` in it is overridden exactly (passed as GIT_CONFIG_KEY_n, not `-c`).
    """
    listed = subprocess.run(
        ["git", "-C", repo, "config", "--list", "--name-only", "-z"],
        capture_output=True,
        timeout=GIT_TIMEOUT_S,
        env=git_env(),
    )
    overrides: dict[str, str] = {}
    for raw in listed.stdout.split(b"\0"):
        key = raw.decode(errors="surrogateescape")
        match = _NAMED_KEY_RE.match(key)
        if not match:
            continue
        section, name, _variable = match.groups()
        for variable, value in _NAMED_COMMANDS[section].items():
            overrides[f"{section}.{name}.{variable}"] = value
    return tuple(sorted(overrides.items()))


def safe_config_env(repo: str | Path, extra: dict[str, str] | None) -> dict[str, str]:
    """The caller's environment config followed by overrides for the repository's own drivers."""
    env = dict(extra or {})
    path = Path(repo)
    stamp = _config_stamp(path) if path.is_dir() else None
    if stamp is None:
        named = _named_overrides(str(repo)) if path.is_dir() else ()
    else:
        named = _named_overrides_cached(str(repo), stamp)
    if not named:
        return env
    count = int(env.get("GIT_CONFIG_COUNT") or 0)
    for offset, (key, value) in enumerate(named):
        env[f"GIT_CONFIG_KEY_{count + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{count + offset}"] = value
    env["GIT_CONFIG_COUNT"] = str(count + len(named))
    return env


def safe_args(args: tuple[str, ...]) -> list[str]:
    """`-c` overrides first; no external diff, textconv or configured transport programs."""
    config = [part for key, value in SAFE_CONFIG for part in ("-c", f"{key}={value}")]
    subcommand = _subcommand(args)
    flags: list[str] = list(_TRANSPORT_FLAGS.get(subcommand, ()))
    if subcommand in _NO_EXTERNAL_DIFF:
        flags.append("--no-ext-diff")
    if subcommand in _NO_TEXTCONV:
        flags.append("--no-textconv")
    if not flags or subcommand not in args:
        return [*config, *args]
    index = args.index(subcommand) + 1
    return [*config, *args[:index], *flags, *args[index:]]


def decode_text(data: bytes) -> str:
    """git's bytes as text: UTF-8, an undecodable byte as U+FFFD, line endings untouched.

    The one decoding of everything git hands us (diffs, blobs, logs): a file's lines and the
    lines of a diff of it then compare equal, and a "\r" inside a line stays in that line
    (text-mode pipes would turn it, and every "\r\n", into "\n").
    """
    return data.decode("utf-8", errors="replace")


def _run_git_bytes(
    repo: str | Path,
    args: tuple[str, ...],
    *,
    timeout: float,
    check: bool,
    input_bytes: bytes | None,
    env: dict[str, str] | None,
) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *safe_args(args)],
            capture_output=True,
            timeout=timeout,
            input=input_bytes,
            env=git_env(safe_config_env(repo, env)),
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {_subcommand(args)} timed out after {timeout:g}s in {repo}") from None
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if check and result.returncode != 0:
        output = decode_text(result.stderr or result.stdout).strip()
        raise GitError(f"git {' '.join(args[:2])} failed in {repo}: {scrub_secrets(output)}")
    return result


def run_git(
    repo: str | Path,
    *args: str,
    timeout: float = GIT_TIMEOUT_S,
    check: bool = True,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `git -C repo args...` with the repository's command-running config turned off."""
    result = _run_git_bytes(
        repo,
        args,
        timeout=timeout,
        check=check,
        input_bytes=None if input_text is None else input_text.encode("utf-8"),
        env=env,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, decode_text(result.stdout), decode_text(result.stderr)
    )


def read_blobs(
    repo: str | Path, commit: str, paths: list[str], *, max_bytes: int
) -> dict[str, bytes | None]:
    """Files' exact bytes at a commit: None when missing, not a file, or past max_bytes.

    Two git processes whatever the number of files: `cat-file --batch-check` for the sizes,
    then `--batch` for the files small enough to read. Paths holding a newline are not asked.
    """
    wanted = [p for p in dict.fromkeys(paths) if p and "\n" not in p]
    blobs: dict[str, bytes | None] = dict.fromkeys(wanted)
    if not wanted:
        return blobs
    specs = "".join(f"{commit}:{path}\n" for path in wanted).encode("utf-8", "surrogateescape")
    checked = _run_git_bytes(
        repo,
        ("cat-file", "--batch-check"),
        timeout=GIT_TIMEOUT_S,
        check=False,
        input_bytes=specs,
        env=None,
    )
    small = []
    for path, line in zip(wanted, checked.stdout.split(b"\n"), strict=False):
        parts = line.split(b" ")
        # "<sha> blob <size>", or "<spec> missing" (a spec may hold spaces: check each part).
        is_blob = len(parts) == 3 and parts[1] == b"blob" and parts[2].isdigit()
        if is_blob and int(parts[2]) <= max_bytes:
            small.append(path)
    if not small:
        return blobs
    out = _run_git_bytes(
        repo,
        ("cat-file", "--batch"),
        timeout=GIT_TIMEOUT_S,
        check=False,
        input_bytes="".join(f"{commit}:{p}\n" for p in small).encode("utf-8", "surrogateescape"),
        env=None,
    ).stdout
    position = 0
    for path in small:
        end = out.find(b"\n", position)
        parts = out[position:end].split(b" ") if end != -1 else []
        if len(parts) != 3 or parts[1] != b"blob" or not parts[2].isdigit():
            break  # the tree changed between the two calls: the rest stay unread
        size = int(parts[2])
        blobs[path] = out[end + 1 : end + 1 + size]
        position = end + 1 + size + 1
    return blobs


def is_work_tree(path: str | Path) -> bool:
    if not Path(path).is_dir():
        return False
    result = run_git(path, "rev-parse", "--is-inside-work-tree", check=False)
    return result.returncode == 0 and result.stdout.strip() == "true"


def rev_parse(repo: str | Path, rev: str) -> str:
    return run_git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").stdout.strip()


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_name: str
    author_email: str
    date: str
    subject: str
    message: str
    diff: str


def commit_info(
    repo: str | Path,
    sha: str,
    *,
    max_diff_bytes: int = 512 * 1024,
    timeout: float = GIT_TIMEOUT_S,
    env: dict[str, str] | None = None,
) -> CommitInfo:
    """A commit's metadata and its diff against its first parent (capped)."""
    fmt = "%H%x00%an%x00%ae%x00%aI%x00%s%x00%B"
    meta = run_git(
        repo, "show", "-s", f"--format={fmt}", sha, "--", timeout=timeout, env=env
    ).stdout
    full_sha, name, email, date, subject, message = meta.split("\x00", 5)
    diff = run_git(
        repo,
        "show",
        "--format=",
        "--patch",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        full_sha,
        "--",
        timeout=timeout,
        env=env,
    ).stdout
    if len(diff.encode()) > max_diff_bytes:
        diff = diff.encode()[:max_diff_bytes].decode(errors="ignore") + "\n[diff truncated]\n"
    return CommitInfo(full_sha, name, email, date, subject, message.strip(), diff)
