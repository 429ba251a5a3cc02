"""Fix branches and downloadable patches.

Nothing here ever touches a repository's default branch, its HEAD or its work tree: a patch
is checked by `skills.patchsafety.check_patch` before anything applies it, applied and
committed in a scratch worktree (`skills.worktrees`), and only a new `wattson/...` ref
is created in the repository (create-only, so an existing branch is never moved).
"""

from __future__ import annotations

import email.utils
from datetime import datetime
from email.header import Header

from django.conf import settings

from reviews.commit_text import markdown_to_text, subject_line
from skills.gitio import GitError, rev_parse, run_git
from skills.patchsafety import PatchRefused, check_patch
from skills.worktrees import FIX_PREFIX, NO_HOOKS, scratch_worktree

# PatchRefused and check_patch live in skills.patchsafety (the solver uses the same check);
# the gate's callers know them by this module.
__all__ = [
    "PatchRefused",
    "PatchStale",
    "check_patch",
    "commit_message",
    "default_head",
    "fix_branch_create",
    "fix_branch_delete",
    "fix_commit_prepare",
    "format_patch",
    "message_parts",
]


class PatchStale(Exception):
    """The patch no longer applies to the repository's current default-branch head."""


# --- messages --------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


def _safe_person(name: str) -> str:
    # Keep a trailer/header one line and free of address syntax.
    return _one_line(name).replace("<", "").replace(">", "").strip()


def message_parts(*, rationale: str, fallback_summary: str) -> tuple[str, str]:
    """(summary, body) from a Markdown rationale, as plain text: its first non-empty line (at
    most 72 characters; a longer one is cut and given whole as the body's first paragraph),
    then the rest wrapped at 72 columns (reviews.commit_text)."""
    lines = [line.rstrip() for line in rationale.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    summary, whole = subject_line(lines[0]) if lines else ("", "")
    body = markdown_to_text("\n".join(lines[1:]))
    if not summary:
        summary, whole = subject_line(_one_line(fallback_summary))
        summary = summary or "Performance fix"
    return summary, "\n\n".join(part for part in (whole, body) if part)


def commit_message(
    *,
    summary: str,
    body: str,
    finding_url: str,
    reviewer_name: str = "",
    reviewer_email: str = "",
) -> str:
    """A git commit message: summary, rationale, the finding link, Reviewed-by."""
    parts = [summary]
    if body:
        parts.append(body)
    trailers = [f"Finding: {finding_url}"]
    if reviewer_name or reviewer_email:
        trailers.append(
            f"Reviewed-by: {_safe_person(reviewer_name) or 'unknown'} "
            f"<{_safe_person(reviewer_email)}>"
        )
    parts.append("\n".join(trailers))
    return "\n\n".join(parts) + "\n"


def _mail_header(value: str) -> str:
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


def format_patch(
    *,
    diff_text: str,
    summary: str,
    body: str,
    finding_url: str,
    date: datetime,
    commit_sha: str = "",
) -> str:
    """The text of `git format-patch` for one commit, composed without touching any repository.

    `git am` reads it: the message ends at the first `---` line, so body lines that would end it
    early (or start a new mbox message) are indented by one space.
    """
    safe_lines = []
    for line in body.split("\n") if body else []:
        if line.startswith(("---", "diff -", "Index: ", "From ", ">From ")):
            line = " " + line
        safe_lines.append(line)
    message_body = "\n".join(safe_lines)
    bot = email.utils.formataddr(
        (_mail_header(_safe_person(settings.WATTSON_BOT_NAME)), settings.WATTSON_BOT_EMAIL)
    )
    header = [
        f"From {commit_sha or '0' * 40} Mon Sep 17 00:00:00 2001",
        f"From: {bot}",
        f"Date: {email.utils.format_datetime(date)}",
        f"Subject: [PATCH] {_mail_header(_one_line(summary))}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "",
    ]
    text = "\n".join(header) + "\n"
    if message_body:
        text += message_body + "\n\n"
    text += f"Finding: {finding_url}\n---\n"
    text += diff_text if diff_text.endswith("\n") else diff_text + "\n"
    text += "-- \nWattson\n\n"
    return text


# --- fix branches ----------------------------------------------------------------------------


def _bot_env() -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": settings.WATTSON_BOT_NAME,
        "GIT_AUTHOR_EMAIL": settings.WATTSON_BOT_EMAIL,
        "GIT_COMMITTER_NAME": settings.WATTSON_BOT_NAME,
        "GIT_COMMITTER_EMAIL": settings.WATTSON_BOT_EMAIL,
    }


def default_head(repo_path: str, default_branch: str) -> str:
    try:
        return rev_parse(repo_path, f"refs/heads/{default_branch}")
    except GitError:
        raise PatchStale(f"the default branch {default_branch!r} was not found") from None


def fix_commit_prepare(
    *, repo_path: str, default_branch: str, diff_text: str, message: str
) -> tuple[str, str]:
    """Commit the patch on the default branch's current head in a scratch worktree.

    Returns (commit sha, head sha). The commit is reachable from no ref yet: `fix_branch_create`
    names it once the decision is recorded. Raises PatchRefused or PatchStale.
    """
    head = default_head(repo_path, default_branch)
    # With the tree: a symlink the diff edits without stating its mode is refused too.
    check_patch(diff_text, repo=repo_path, commit=head)
    with scratch_worktree(repo_path, head, prefix=FIX_PREFIX) as tree:
        checked = run_git(
            tree, "apply", "--check", "--index", "-", input_text=diff_text, check=False
        )
        if checked.returncode != 0:
            lines = (checked.stderr or checked.stdout).strip().splitlines()
            detail = "; ".join(lines[:3]) or "git apply failed"
            raise PatchStale(
                f"the patch no longer applies to {default_branch} at {head[:12]}: {detail}"
            )
        run_git(tree, "apply", "--index", "-", input_text=diff_text)
        run_git(
            tree,
            *NO_HOOKS,
            "-c",
            "commit.gpgSign=false",
            "commit",
            "--quiet",
            "--no-verify",
            "--allow-empty-message",
            # Markdown headings in a rationale start with "#": keep them (no comment stripping).
            "--cleanup=whitespace",
            "-F",
            "-",
            input_text=message,
            env=_bot_env(),
        )
        commit = rev_parse(tree, "HEAD")
    return commit, head


def fix_branch_create(*, repo_path: str, branch: str, commit: str) -> None:
    """Create refs/heads/<branch> at commit; refuses to move a branch that already exists."""
    run_git(repo_path, "check-ref-format", f"refs/heads/{branch}")
    run_git(repo_path, "update-ref", "--no-deref", f"refs/heads/{branch}", commit, "")


def fix_branch_delete(*, repo_path: str, branch: str, commit: str) -> None:
    """Undo fix_branch_create, only if the branch still points at our commit."""
    run_git(repo_path, "update-ref", "-d", f"refs/heads/{branch}", commit, check=False)
