"""Tools that read git history: the root-cause commit, log, blame, a file at a revision."""

from __future__ import annotations

from skills.tools.code import _window
from skills.tools.sandbox import (
    RepoSandbox,
    ToolError,
    cap_text,
    decode_line,
    looks_binary,
    number_lines,
)

MAX_LOG_ENTRIES = 100
MAX_BLAME_LINES = 400
# A blob is read whole through git; beyond this, read_file on the work tree is the way.
MAX_BLOB_BYTES = 8 * 1024 * 1024


def root_cause_commit(sandbox: RepoSandbox, sha: str | None = None, path: str | None = None) -> str:
    rev = sha or sandbox.root_cause_commit
    if not rev:
        raise ToolError(
            "no root-cause commit is known for this finding; pass sha= to inspect a commit"
        )
    full_sha = sandbox.verify_commit(rev)
    fmt = "%H%x00%an%x00%ae%x00%aI%x00%P%x00%B"
    meta = sandbox.git("show", "-s", "--no-show-signature", f"--format={fmt}", full_sha, "--")
    _sha, name, email, date, parents, message = meta.split("\x00", 5)
    pathspec = [sandbox.relative(path)] if path else []
    # A merge is shown against its first parent, like a normal commit, not as a combined diff.
    numstat = sandbox.git(
        "show",
        "--no-show-signature",
        "--diff-merges=first-parent",
        "--format=",
        "--numstat",
        full_sha,
        "--",
        *pathspec,
    )
    diff = sandbox.git(
        "show",
        "--no-show-signature",
        "--diff-merges=first-parent",
        "--format=",
        "--patch",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        full_sha,
        "--",
        *pathspec,
    )
    files = []
    for line in numstat.splitlines():
        added, removed, name_of_file = (line.split("\t", 2) + ["", ""])[:3]
        change = "binary" if added == "-" else f"+{added} -{removed}"
        files.append(f"  {name_of_file}  ({change})")
    parent = parents.split()[0] if parents.split() else "(none: root commit)"
    header = [
        f"commit {full_sha}",
        f"author: {name} <{email}>",
        f"date:   {date}",
        f"parent: {parent}",
        "",
        message.strip(),
        "",
        f"files changed{' (limited to ' + path + ')' if path else ''}:",
        *(files or ["  (none)"]),
        "",
    ]
    # Keep the metadata whole and let only the diff be cut.
    head = "\n".join(header) + "\n"
    budget = max(4096, sandbox.max_output_bytes - len(head.encode()) - 200)
    return head + cap_text(diff, budget)


def git_log(sandbox: RepoSandbox, path: str | None = None, max_entries: int = 20) -> str:
    max_entries = max(1, min(max_entries, MAX_LOG_ENTRIES))
    pathspec = [sandbox.relative(path)] if path else []
    out = sandbox.git(
        "log",
        "--no-color",
        # A repository's config may ask for signature checks, which would run gpg.program.
        "--no-show-signature",
        f"--max-count={max_entries}",
        "--date=short",
        "--format=%H %ad %an <%ae>%n    %s",
        "--",
        *pathspec,
    )
    if not out.strip():
        return f"no commits{' touch ' + path if path else ''}\n"
    return out


def blame(
    sandbox: RepoSandbox,
    path: str,
    start_line: int | None = None,
    end_line: int | None = None,
    rev: str | None = None,
) -> str:
    rel = sandbox.relative(path)
    start, end = _window(start_line, end_line)
    end = min(end, start + MAX_BLAME_LINES - 1)
    revision = [sandbox.verify_commit(rev)] if rev else []
    result = sandbox.run("blame", "--date=short", "-L", f"{start},{end}", *revision, "--", rel)
    if result.returncode != 0:
        message = (result.stderr or "").strip().splitlines()
        reason = message[-1] if message else "git blame failed"
        raise ToolError(f"cannot blame {rel}: {reason.removeprefix('fatal: ')}")
    # git stops at the end of the file; say which lines were actually shown.
    shown_end = start + max(0, len(result.stdout.splitlines()) - 1)
    return f"{rel} lines {start}-{shown_end} (sha author date line)\n{result.stdout}"


def file_at_revision(
    sandbox: RepoSandbox,
    path: str,
    rev: str,
    start_line: int | None = None,
    end_line: int | None = None,
) -> str:
    rel = sandbox.relative(path)
    full_sha = sandbox.verify_commit(rev)
    spec = f"{full_sha}:{rel}"
    kind = sandbox.run("cat-file", "-t", spec)
    if kind.returncode != 0 or kind.stdout.strip() != "blob":
        raise ToolError(f"{rel} does not exist as a file at {rev} ({full_sha[:12]})")
    size = int(sandbox.git("cat-file", "-s", spec).strip() or 0)
    if size > MAX_BLOB_BYTES:
        raise ToolError(f"{rel} at {rev} is {size} bytes, too large to read at a revision")
    # cat-file blob gives the raw bytes (no textconv or filters from the repository's config).
    result = sandbox.run("cat-file", "blob", spec)
    if result.returncode != 0:
        raise ToolError(f"cannot read {rel} at {rev}: {result.stderr.strip()}")
    text = result.stdout
    if looks_binary(text[:8192].encode("utf-8", errors="replace")) or "\ufffd" in text:
        raise ToolError(f"{rel} at {rev} is binary or not UTF-8 text")
    start, end = _window(start_line, end_line)
    all_lines = text.splitlines()
    total = len(all_lines)
    if total == 0:
        return f"{rel} at {full_sha[:12]} is empty\n"
    if start > total:
        raise ToolError(f"{rel} at {rev} has {total} lines; start_line {start} is past the end")
    selected = [
        (number, decode_line(line.encode(), where=rel))
        for number, line in enumerate(all_lines[start - 1 : end], start=start)
    ]
    shown_end = selected[-1][0]
    more = f"; call again with start_line={shown_end + 1} for more" if shown_end < total else ""
    header = f"{rel} at {rev} ({full_sha[:12]}), lines {start}-{shown_end} of {total}{more}\n"
    return header + number_lines(selected)
