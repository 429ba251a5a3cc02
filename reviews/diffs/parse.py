"""Reading a unified diff: parsing with its size guard, git's quoted paths, a file's status and
mode, applying hunks to an old text, and the line arithmetic between hunks."""

from __future__ import annotations

import re

from unidiff import PatchSet
from unidiff.constants import LINE_TYPE_NO_NEWLINE

from reviews.diffs.limits import DiffLimits

_HEX = re.compile(r"^[0-9a-f]{4,64}$")
# Git quotes a path with unusual bytes as "a/caf\303\251.py"; the escapes are C-style octal.
_QUOTED_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class DiffTooLarge(Exception):
    """The diff is past WATTSON_DIFF_MAX_BYTES."""


def unquote_git_path(raw: str | None) -> str:
    """Strip the a/ b/ prefix and undo git's C-style quoting of unusual file names."""
    if not raw or raw == "/dev/null":
        return ""
    path = raw
    if len(path) >= 2 and path.startswith('"') and path.endswith('"'):
        body = path[1:-1]
        out = bytearray()
        i = 0
        while i < len(body):
            char = body[i]
            if char == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                if nxt in "01234567" and re.match(r"[0-7]{3}", body[i + 1 : i + 4]):
                    out.append(int(body[i + 1 : i + 4], 8))
                    i += 4
                    continue
                out.extend(_QUOTED_ESCAPES.get(nxt, nxt).encode())
                i += 2
                continue
            out.extend(char.encode())
            i += 1
        path = out.decode("utf-8", errors="replace")
    if len(path) > 2 and path[1] == "/" and path[0] in "abciow12":
        path = path[2:]
    return path


def parse(diff_text: str, *, max_bytes: int | None = None) -> PatchSet:
    """Parse a unified diff; raises UnidiffParseError or DiffTooLarge.

    max_bytes defaults to WATTSON_DIFF_MAX_BYTES.
    """
    if max_bytes is None:
        max_bytes = DiffLimits.current().diff_max_bytes
    if len(diff_text) > max_bytes:
        raise DiffTooLarge(f"the diff is {len(diff_text) // 1024} KB")
    # PatchSet reads a StringIO, which splits on "\n" only: a "\r" inside a line stays there.
    return PatchSet(diff_text)


def file_status(pfile) -> str:
    if pfile.is_added_file and pfile.source_file == "/dev/null":
        return "added"
    if pfile.is_removed_file and pfile.target_file == "/dev/null":
        return "deleted"
    if pfile.is_rename:
        return "renamed"
    return "modified"


def mode_change(pfile) -> str:
    info = "".join(pfile.patch_info or [])
    old = re.search(r"^old mode (\d+)$", info, re.M)
    new = re.search(r"^new mode (\d+)$", info, re.M)
    if old and new:
        return f"mode {old.group(1)} → {new.group(1)}"
    created = re.search(r"^new file mode (120000|160000)$", info, re.M)
    if created:
        return "symbolic link" if created.group(1) == "120000" else "submodule"
    return ""


def split_keepends(text: str) -> list[str]:
    """Split on "\\n" only; str.splitlines would also split on \\r, \\x0b, \\x1c, U+2028..."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def line_count(text: str) -> int:
    """Lines in a text, counting a last line without its newline."""
    return text.count("\n") + int(bool(text) and not text.endswith("\n"))


def apply_hunks(old_text: str, pfile) -> str | None:
    """The new file: the hunks applied to the old text; None when they do not match it."""
    old_lines = split_keepends(old_text)
    new_lines: list[str] = []
    pos = 0
    for hunk in pfile:
        start = hunk.source_start - 1 if hunk.source_length else hunk.source_start
        if start < pos or start > len(old_lines):
            return None
        new_lines.extend(old_lines[pos:start])
        pos = start
        last_side = None
        for line in hunk:
            if line.line_type == LINE_TYPE_NO_NEWLINE:
                if last_side == "new" and new_lines:
                    new_lines[-1] = new_lines[-1].removesuffix("\n")
                continue
            if line.is_added:
                new_lines.append(line.value)
                last_side = "new"
                continue
            if pos >= len(old_lines) or old_lines[pos].rstrip("\n") != line.value.rstrip("\n"):
                return None
            if line.is_context:
                new_lines.append(line.value)
                last_side = "new"
            else:
                last_side = "old"
            pos += 1
    new_lines.extend(old_lines[pos:])
    return "".join(new_lines)


# --- highlighting -----------------------------------------------------------------------------


def hunk_header(hunk) -> str:
    old = f"-{hunk.source_start},{hunk.source_length}"
    new = f"+{hunk.target_start},{hunk.target_length}"
    return f"@@ {old} {new} @@"


def delta_after(hunk) -> int:
    """New minus old line number for the unchanged lines after a hunk.

    An empty side is written as the line *before* it ("@@ -5,0 +6,2 @@" inserts after old
    line 5), so its next line is start + 1, not start + length.
    """
    next_old = hunk.source_start + (hunk.source_length or 1)
    next_new = hunk.target_start + (hunk.target_length or 1)
    return next_new - next_old


def hex_commit(value: str) -> bool:
    """A base commit we are willing to pass to git: hex only, no options, no revision syntax."""
    return bool(_HEX.match(value or ""))
