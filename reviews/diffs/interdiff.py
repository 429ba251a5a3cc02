"""Interdiffs: what changed from one revision of a proposal to the next, as a unified diff of
the files each revision produces."""

from __future__ import annotations

import difflib

from reviews.diffs.model import FileReader
from reviews.diffs.parse import apply_hunks, file_status, parse, split_keepends, unquote_git_path


def patched_files(diff_text: str, read_old: FileReader) -> dict[str, str | None]:
    """{path: resulting text (None when deleted)} for every file a diff touches."""
    result: dict[str, str | None] = {}
    for pfile in parse(diff_text):
        status = file_status(pfile)
        old_path = unquote_git_path(pfile.source_file)
        new_path = unquote_git_path(pfile.target_file)
        if pfile.is_binary_file:
            continue
        if status == "deleted":
            result[old_path] = None
            continue
        old_text = "" if status == "added" else (read_old(old_path) or "")
        new_text = apply_hunks(old_text, pfile)
        if new_text is None:
            raise ValueError(f"the diff does not apply to {new_path}")
        if status == "renamed":
            result.setdefault(old_path, None)
        result[new_path] = new_text
    return result


def interdiff(
    older: dict[str, str | None], newer: dict[str, str | None], read_base: FileReader
) -> str:
    """A unified diff from the files one revision produces to the files the next produces.

    A file only one revision touches compares against its base content on the other side.
    """
    chunks: list[str] = []
    for path in sorted(set(older) | set(newer)):
        before = older[path] if path in older else read_base(path)
        after = newer[path] if path in newer else read_base(path)
        if before == after:
            continue
        before_lines = split_keepends(before or "")
        after_lines = split_keepends(after or "")
        body = list(
            difflib.unified_diff(
                before_lines,
                after_lines,
                fromfile=f"a/{path}" if before is not None else "/dev/null",
                tofile=f"b/{path}" if after is not None else "/dev/null",
                n=3,
            )
        )
        if not body:
            continue
        chunks.append(f"diff --git a/{path} b/{path}\n")
        for line in body:
            if not line.endswith("\n"):
                line += "\n\\ No newline at end of file\n"
            chunks.append(line)
    return "".join(chunks)
