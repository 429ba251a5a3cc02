"""The one patch-safety check: what a diff may change before anything applies it.

Used by the solver (a codemod's or a model's diff), by validation, and by the fix branch at
approval, so a diff refused at approval is refused at proposal time too. Plain text edits to
plain files inside the repository only: no git metadata, no CI configuration, no symlinks,
submodules, mode changes or binary patches.

A diff alone cannot show every symlink: one that edits an existing link's target without
stating the mode (`index aaa..bbb`, or bare `---`/`+++` lines) reads as a text edit, and
`git apply` retargets the link. So callers that know the tree the diff applies to pass it
(`repo`, `commit`), and every path the diff names is looked up there too.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from pathlib import Path

from django.conf import settings
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from skills.gitio import run_git

# CI configuration: a patch that changes what CI runs could run anything with CI's secrets.
CI_DIRS = frozenset(
    {
        ".ci",
        ".github",
        ".gitlab",
        ".circleci",
        ".buildkite",
        ".azure-pipelines",
        ".drone",
        ".woodpecker",
        ".forgejo",
        ".gitea",
        ".semaphore",
        ".teamcity",
    }
)
CI_FILES = frozenset(
    {
        ".gitlab-ci.yml",
        ".gitlab-ci.yaml",
        "jenkinsfile",
        "azure-pipelines.yml",
        "azure-pipelines.yaml",
        ".travis.yml",
        ".drone.yml",
        ".cirrus.yml",
        "bitbucket-pipelines.yml",
        "appveyor.yml",
        ".appveyor.yml",
        "cloudbuild.yaml",
        "cloudbuild.yml",
        "codefresh.yml",
        "buildkite.yml",
        ".buildkite.yml",
        "wercker.yml",
        ".pre-commit-config.yaml",
    }
)
# Plain files only: no symlinks (120000), submodules (160000) or executables appearing.
ALLOWED_NEW_MODES = frozenset({"100644"})
ALLOWED_INDEX_MODES = frozenset({"100644", "100755"})
# Longer names are no source file; the cap also bounds the rename parsing below.
MAX_PATH_CHARS = 1024

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_INDEX_RE = re.compile(r"^index [0-9a-fA-F]+\.\.[0-9a-fA-F]+(?: (\d+))?$")
_BRACE_RENAME_RE = re.compile(r"^(.*)\{(.*) => (.*)\}(.*)$")


class PatchRefused(Exception):
    """The patch is unsafe to apply; `reason` says why, in words a reviewer understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _max_bytes() -> int:
    return int(getattr(settings, "WATTSON_PATCH_MAX_BYTES", 1024 * 1024))


def check_path(path: str) -> None:
    """Refuse a path a fix must never touch; `path` is relative to the repository root."""
    if path == "":
        raise PatchRefused("the patch names an empty file path")
    if len(path) > MAX_PATH_CHARS:
        raise PatchRefused(f"file name longer than {MAX_PATH_CHARS} characters: {path[:80]!r}…")
    if path.startswith('"'):
        raise PatchRefused(f"quoted file name {path[:80]!r}: special characters are refused")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise PatchRefused(f"control character in file name {path[:80]!r}")
    if path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path):
        raise PatchRefused(f"absolute path {path[:80]!r} is outside the repository")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise PatchRefused(f"path {path[:80]!r} escapes or is not normalised ('..', '.', '//')")
    if any(unicodedata.category(ch) == "Cf" for ch in path):
        # Zero-width and direction marks: HFS+ ignores some (".g\u200cit" is ".git"), and they
        # make a name read differently from what it is.
        raise PatchRefused(f"invisible formatting character in file name {path[:80]!r}")
    for part in parts:
        # `.GIT`, `.git.` and `GIT~1` reach the same directory on case-insensitive or Windows
        # file systems.
        if part.lower().rstrip(". ") in (".git", "git~1"):
            raise PatchRefused(f"path {path[:80]!r} touches git's own metadata (.git/)")
        if part.lower() in CI_DIRS:
            raise PatchRefused(f"path {path[:80]!r} is CI configuration ({part}/)")
    base = parts[-1].lower()
    if base in CI_FILES or base.startswith("jenkinsfile"):
        raise PatchRefused(f"path {path[:80]!r} is CI configuration")
    if base == ".gitmodules":
        raise PatchRefused(f"path {path[:80]!r} configures submodules")


def _strip_prefix(raw: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if raw.startswith(prefix):
            return raw[len(prefix) :]
    raise PatchRefused(f"file name {raw[:80]!r} lacks the a/ or b/ prefix of a git diff")


def _git_header_paths(rest: str) -> list[str]:
    """Paths of a `diff --git a/X b/Y` header line (unquoted; quoted names are refused)."""
    if rest.startswith('"'):
        raise PatchRefused(f"quoted file name in {rest[:80]!r}: special characters are refused")
    if not rest.startswith("a/"):
        raise PatchRefused(f"malformed diff header {rest[:80]!r}")
    # The usual case, old == new, parses exactly even when the name holds " b/".
    half = (len(rest) - 3) // 2
    if len(rest) % 2 == 1 and rest[half : half + 3] == " b/" and rest[2:half] == rest[half + 3 :]:
        return [rest[2:half]]
    if rest.count(" b/") != 1:
        raise PatchRefused(f"ambiguous diff header {rest[:80]!r}")
    old, new = rest.split(" b/")
    return [old[2:], new]


def _header_paths(lines: list[str]) -> list[str]:
    """Walk the diff line by line; refuse anything but plain text changes to plain files."""
    paths: list[str] = []
    old_left = new_left = 0
    seen_file = False
    for number, line in enumerate(lines, start=1):
        if old_left > 0 or new_left > 0:
            kind = line[:1]
            if kind in (" ", ""):
                old_left -= 1
                new_left -= 1
            elif kind == "-":
                old_left -= 1
            elif kind == "+":
                new_left -= 1
            elif kind != "\\":
                raise PatchRefused(f"line {number}: unexpected line inside a hunk")
            if old_left < 0 or new_left < 0:
                raise PatchRefused(f"line {number}: hunk longer than its header says")
            continue
        if line.startswith("diff --git "):
            seen_file = True
            paths.extend(_git_header_paths(line[len("diff --git ") :]))
        elif line.startswith(("--- ", "+++ ")):
            seen_file = True
            raw = line[4:].split("\t", 1)[0]
            if raw != "/dev/null":
                paths.append(_strip_prefix(raw, ("a/", "b/")))
        elif line.startswith(("old mode ", "new mode ")):
            raise PatchRefused(f"line {number}: the patch changes a file mode (chmod)")
        elif line.startswith(("new file mode ", "deleted file mode ")):
            mode = line.rsplit(" ", 1)[-1]
            if mode == "120000":
                raise PatchRefused(f"line {number}: the patch creates or deletes a symlink")
            if mode == "160000":
                raise PatchRefused(f"line {number}: the patch adds or removes a submodule")
            if mode not in ALLOWED_NEW_MODES:
                raise PatchRefused(f"line {number}: file mode {mode[:10]} is not a plain file")
        elif line.startswith("index "):
            match = _INDEX_RE.match(line)
            if match is None:
                raise PatchRefused(f"line {number}: malformed index line")
            if match.group(1) == "120000":
                raise PatchRefused(f"line {number}: the patch changes a symlink")
            if match.group(1) == "160000":
                raise PatchRefused(f"line {number}: the patch changes a submodule")
            if match.group(1) and match.group(1) not in ALLOWED_INDEX_MODES:
                raise PatchRefused(f"line {number}: file mode {match.group(1)} is refused")
        elif line.startswith(("rename from ", "rename to ", "copy from ", "copy to ")):
            paths.append(line.split(" ", 2)[2])
        elif line.startswith(("similarity index ", "dissimilarity index ")):
            pass
        elif line.startswith(("GIT binary patch", "Binary files ", "literal ", "delta ")):
            raise PatchRefused(f"line {number}: binary patches are refused")
        elif line.startswith("@@ "):
            match = _HUNK_RE.match(line)
            if match is None or not seen_file:
                raise PatchRefused(f"line {number}: malformed hunk header")
            old_left = int(match.group(2) if match.group(2) is not None else 1)
            new_left = int(match.group(4) if match.group(4) is not None else 1)
        elif line.startswith("\\ ") or line.strip() == "":
            pass
        else:
            raise PatchRefused(f"line {number}: unexpected line outside a hunk: {line[:60]!r}")
    if old_left > 0 or new_left > 0:
        raise PatchRefused("the last hunk is shorter than its header says")
    return paths


def _git_summary_check(diff_text: str) -> None:
    """Ask git what the patch does; git apply alone accepts a symlink-only patch (NOTES.md)."""
    with tempfile.TemporaryDirectory(prefix="wattson-check-") as empty_dir:
        result = run_git(
            empty_dir, "apply", "--numstat", "--summary", "-", input_text=diff_text, check=False
        )
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise PatchRefused(f"git cannot read the patch: {message[0] if message else 'error'}")
    for line in result.stdout.splitlines():
        if line.startswith(" "):
            text = line.strip()
            if "120000" in text:
                raise PatchRefused("git reports a symlink in the patch")
            if "160000" in text:
                raise PatchRefused("git reports a submodule in the patch")
            if text.startswith("mode change"):
                raise PatchRefused("git reports a file mode change (chmod)")
            if text.startswith(("create mode", "delete mode")):
                mode = text.split(" ")[2]
                if mode not in ALLOWED_NEW_MODES:
                    raise PatchRefused(f"git reports file mode {mode[:10]}, not a plain file")
            continue
        fields = line.split("\t", 2)
        if len(fields) != 3:
            raise PatchRefused(f"unexpected git apply output {line[:80]!r}")
        added, _deleted, path = fields
        if added == "-":
            raise PatchRefused(f"git reports a binary change to {path[:80]!r}")
        if " => " in path:
            braces = _BRACE_RENAME_RE.match(path)
            if braces:
                prefix, old, new, suffix = braces.groups()
                candidates = [prefix + old + suffix, prefix + new + suffix]
                candidates = [c.replace("//", "/") for c in candidates]
            else:
                candidates = path.split(" => ")
        else:
            candidates = [path]
        for candidate in candidates:
            check_path(candidate)


def _tree_paths(paths: list[str]) -> list[str]:
    """The paths and each directory above them: a symlinked directory is refused as well."""
    wanted: dict[str, None] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            wanted["/".join(parts[:depth])] = None
    return list(wanted)


def _tree_check(repo: str | Path, commit: str, paths: list[str]) -> None:
    """Refuse a diff naming a path that is a symlink or a submodule at `commit` in `repo`."""
    wanted = _tree_paths(paths)
    listed = run_git(
        repo,
        "ls-tree",
        "-z",
        "--full-tree",
        commit,
        "--",
        *wanted,
        env={"GIT_LITERAL_PATHSPECS": "1"},
        check=False,
    )
    if listed.returncode != 0:
        detail = (listed.stderr or listed.stdout).strip().splitlines()
        raise PatchRefused(f"git cannot list {commit[:40]}: {detail[0] if detail else 'error'}")
    asked = set(wanted)
    for entry in listed.stdout.split("\0"):
        meta, _, path = entry.partition("\t")
        if path not in asked:
            continue  # a sibling git listed while walking into a directory we named
        mode = meta.split(" ", 1)[0]
        if mode == "120000":
            raise PatchRefused(f"the patch changes {path[:80]!r}, a symlink in the repository")
        if mode == "160000":
            raise PatchRefused(f"the patch changes {path[:80]!r}, a submodule in the repository")


def check_patch(diff_text: str, *, repo: str | Path | None = None, commit: str = "HEAD") -> None:
    """Refuse, before anything applies it, a patch that is not plain text edits inside the repo.

    Raises PatchRefused(reason). Checked three ways on purpose: a strict line walk of every
    header, unidiff's parse, and git's own reading (`git apply --numstat --summary`); with
    `repo`, also the modes at `commit` of every path the patch names (a symlink edited without
    its mode in the diff).
    """
    if not isinstance(diff_text, str):
        raise PatchRefused("the patch is not text")
    size = len(diff_text.encode("utf-8", errors="surrogateescape"))
    if size > _max_bytes():
        raise PatchRefused(f"the patch is {size:,} bytes, over the {_max_bytes():,}-byte cap")
    if "\x00" in diff_text:
        raise PatchRefused("the patch contains a NUL byte")
    if not diff_text.strip():
        raise PatchRefused("the patch is empty")
    lines = diff_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    paths = _header_paths(lines)
    if not paths:
        raise PatchRefused("the patch names no files")
    for path in paths:
        check_path(path)
    try:
        patch_set = PatchSet(diff_text)
    except UnidiffParseError as exc:
        raise PatchRefused(f"not a valid unified diff: {exc}") from None
    if len(patch_set) == 0:
        raise PatchRefused("the patch changes no files")
    for patched in patch_set:
        if patched.is_binary_file:
            raise PatchRefused(f"binary change to {patched.path[:80]!r}")
        for raw in (patched.source_file, patched.target_file):
            if raw and raw != "/dev/null":
                check_path(_strip_prefix(raw, ("a/", "b/")))
    _git_summary_check(diff_text)
    if repo is not None:
        _tree_check(repo, commit, paths)


def patch_refusal(diff_text: str, *, repo: str | Path | None = None, commit: str = "HEAD") -> str:
    """Why `check_patch` refuses the diff, or "" when it is safe (for callers that report)."""
    try:
        check_patch(diff_text, repo=repo, commit=commit)
    except PatchRefused as exc:
        return exc.reason
    return ""
