"""RepoSandbox: the one place that decides which paths and revisions a tool may touch."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from skills.gitio import READ_ONLY_ENV, GitError, run_git

MAX_OUTPUT_BYTES = 64 * 1024
MAX_LINE_CHARS = 2000
# Long enough for a slow `git grep` over a big repository, short enough that a stuck agent turn
# does not hold a worker for minutes.
TOOL_GIT_TIMEOUT_S = 20.0
TRUNCATED = "[truncated]"

# A single commit-ish: names, shas, ~ ^ @{n} suffixes. No leading "-" (never an option), no
# whitespace, no ".." (ranges), no ":" (blob paths).
_REV_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./~^@{}+-]{0,199}$")


class ToolError(Exception):
    """A tool refused or failed; the message is written for the person (or model) who asked."""


class RepoSandbox:
    """A git work tree that tools may read, and nothing outside it."""

    def __init__(
        self,
        root: str | Path,
        *,
        root_cause_commit: str | None = None,
        skill_docs: Mapping[str, str] | None = None,
        git_timeout: float = TOOL_GIT_TIMEOUT_S,
        max_output_bytes: int = MAX_OUTPUT_BYTES,
    ) -> None:
        root_path = Path(root).resolve()
        if not root_path.is_dir():
            raise ToolError(f"repository root {root} is not a directory")
        self.root = root_path
        self.root_cause_commit = root_cause_commit or None
        self.skill_docs: dict[str, str] = dict(skill_docs or {})
        self.git_timeout = git_timeout
        self.max_output_bytes = max_output_bytes

    def __repr__(self) -> str:
        return f"RepoSandbox({str(self.root)!r})"

    # --- paths -------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """The real path of `path` (relative to the root), or ToolError if it leaves the root."""
        posix = check_relative_path(path)
        candidate = (self.root / posix) if posix != "." else self.root
        # resolve() follows every symlink, so a link inside the repository that points at /etc
        # (or a directory link that does) ends up outside the root and is refused here.
        real = candidate.resolve()
        if real != self.root and not real.is_relative_to(self.root):
            raise ToolError(f"path {path!r} resolves outside the repository and is refused")
        if real.is_relative_to(self.root / ".git"):
            raise ToolError(f"path {path!r} points into .git, which tools may not read")
        return real

    def relative(self, path: str) -> str:
        """The confined path as a repository-relative POSIX string ("." for the root)."""
        real = self.resolve(path)
        return "." if real == self.root else real.relative_to(self.root).as_posix()

    # --- git ---------------------------------------------------------------------------------

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a read-only git command in the repository (no check); timeouts become ToolError."""
        try:
            return run_git(
                self.root, *args, timeout=self.git_timeout, check=False, env=READ_ONLY_ENV
            )
        except GitError as exc:
            raise ToolError(str(exc).replace(str(self.root), "<repo>")) from None

    def git(self, *args: str) -> str:
        """stdout of a read-only git command that must succeed, else ToolError with git's words."""
        result = self.run(*args)
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip().replace(str(self.root), "<repo>")
            raise ToolError(f"git {args[0]} failed: {message or 'exit ' + str(result.returncode)}")
        return result.stdout

    def verify_commit(self, rev: str) -> str:
        """The full sha of a commit-ish that exists in the repository."""
        rev = (rev or "").strip()
        if rev.startswith("-"):
            raise ToolError(f"revision {rev!r} looks like an option and is refused")
        if not _REV_RE.match(rev) or ".." in rev:
            raise ToolError(
                f"revision {rev!r} is not a single commit-ish (a sha, branch, tag, or HEAD~N)"
            )
        out = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        ).stdout.strip()
        if not re.fullmatch(r"[0-9a-f]{40,64}", out):
            raise ToolError(f"revision {rev!r} is not a commit in this repository")
        return out


def check_relative_path(path: str) -> str:
    """Lexical checks: relative, no `..`, not into .git; returns a normalised POSIX path."""
    if not isinstance(path, str) or not path.strip():
        raise ToolError("path must be a non-empty string relative to the repository root")
    if "\x00" in path:
        raise ToolError("path contains a NUL byte")
    raw = path.strip().replace("\\", "/")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise ToolError(f"absolute path {path!r} is refused; give a path relative to the root")
    parts = [part for part in PurePosixPath(raw).parts if part not in ("", ".")]
    if ".." in parts:
        raise ToolError(f"path {path!r} contains '..' and is refused")
    if any(part.casefold() == ".git" for part in parts):
        raise ToolError(f"path {path!r} points into .git, which tools may not read")
    return "/".join(parts) or "."


def cap_text(text: str, max_bytes: int = MAX_OUTPUT_BYTES) -> str:
    """Cut text to max_bytes of UTF-8 at a line boundary when possible, with a marker."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= max_bytes:
        return text
    cut = data[:max_bytes].decode("utf-8", errors="ignore")
    newline = cut.rfind("\n")
    if newline > max_bytes // 2:
        cut = cut[: newline + 1]
    omitted = len(data) - len(cut.encode("utf-8"))
    return f"{cut.rstrip()}\n{TRUNCATED} ({omitted} more bytes not shown)\n"


def looks_binary(sample: bytes) -> bool:
    return b"\x00" in sample


def iter_lines(handle, *, max_line_bytes: int = MAX_LINE_CHARS * 4) -> Iterator[bytes]:
    """Yield lines from a binary handle without ever holding a huge line in memory.

    A line longer than max_line_bytes is yielded cut short (ending in b"\\0" as a marker), and the
    rest of it is skipped in chunks.
    """
    while True:
        line = handle.readline(max_line_bytes)
        if not line:
            return
        if len(line) == max_line_bytes and not line.endswith(b"\n"):
            while True:
                rest = handle.readline(1024 * 1024)
                if not rest or rest.endswith(b"\n"):
                    break
            yield line + b"\0"
        else:
            yield line


def decode_line(raw: bytes, *, where: str) -> str:
    cut = raw.endswith(b"\0")
    if cut:
        raw = raw[:-1]
    try:
        text = raw.decode("utf-8") if not cut else raw.decode("utf-8", errors="ignore")
    except UnicodeDecodeError:
        raise ToolError(f"{where} is not UTF-8 text; tools only read text files") from None
    text = text.rstrip("\r\n")
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS]
        cut = True
    return f"{text} … [line truncated]" if cut else text


def number_lines(lines: list[tuple[int, str]]) -> str:
    if not lines:
        return ""
    width = len(str(lines[-1][0]))
    return "\n".join(f"{number:>{width}}  {text}" for number, text in lines) + "\n"
