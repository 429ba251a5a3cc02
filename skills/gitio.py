"""The one seam to git: every git subprocess in Wattson goes through run_git."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT_S = 30
# No prompts, no pager, no user/system config, no network helpers.
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_OPTIONAL_LOCKS": "0",
    "LC_ALL": "C",
}


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
    """A git command failed; the message carries git's own words."""


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
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_GIT_ENV)
    env.update(extra or {})
    return env


def run_git(
    repo: str | Path,
    *args: str,
    timeout: float = GIT_TIMEOUT_S,
    check: bool = True,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            env=git_env(env),
            errors="replace",
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {_subcommand(args)} timed out after {timeout:g}s in {repo}") from None
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if check and result.returncode != 0:
        message = (result.stderr or result.stdout).strip()
        raise GitError(f"git {' '.join(args[:2])} failed in {repo}: {message}")
    return result


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
