"""Where a line comment hangs in a diff: the lines one side of a file shows, found again later.

A comment is anchored to lines of one side ("old": the base file's numbering, "new": the fixed
file's) of one file. Those lines exist only if the diff shows them (added, removed or context).
When a later revision's diff is stored, the same text is looked for on the same side of the same
file, nearest to where it was; GitHub and Gerrit do the same.
"""

from __future__ import annotations

from reviews.diffs.parse import parse, unquote_git_path

CONTEXT_LINES = 3


def _display_path(pfile) -> str:
    """The path the viewer names a file by (FileView.path): the new one, the old if deleted."""
    return unquote_git_path(pfile.target_file) or unquote_git_path(pfile.source_file)


def side_lines(diff_text: str, path: str, side: str) -> dict[int, str]:
    """Line number → text (without its line ending) of every line `side` of `path` shows.

    `path` is the file's display path (a renamed file's new name on either side). Empty when
    the file is not in the diff or the diff cannot be parsed.
    """
    try:
        patch = parse(diff_text)
    except Exception:  # an unparsable diff has no lines to anchor to
        return {}
    lines: dict[int, str] = {}
    for pfile in patch:
        if _display_path(pfile) != path:
            continue
        for hunk in pfile:
            for line in hunk:
                number = line.target_line_no if side == "new" else line.source_line_no
                if number is not None and (line.is_added or line.is_removed or line.is_context):
                    lines[number] = line.value.rstrip("\r\n")
    return lines


def diff_paths(diff_text: str) -> list[str]:
    """The files a diff changes, by the path a comment names (the new, or the old if deleted)."""
    try:
        patch = parse(diff_text)
    except Exception:
        return []
    return [_display_path(pfile) for pfile in patch]


def anchored_text(lines: dict[int, str], start: int, end: int) -> list[str] | None:
    """The text of lines start..end, or None when the diff does not show every one of them."""
    if any(number not in lines for number in range(start, end + 1)):
        return None
    return [lines[number] for number in range(start, end + 1)]


def context_before(lines: dict[int, str], start: int, end: int) -> str:
    """Numbered lines from a few before the anchor to its end, as an outdated thread shows them."""
    first = max(1, start - CONTEXT_LINES)
    return "\n".join(
        f"{number:>5} | {lines[number]}" for number in range(first, end + 1) if number in lines
    )


def relocate(lines: dict[int, str], texts: list[str], near: int) -> int | None:
    """The start line where `texts` appear again as consecutive lines, nearest to `near`.

    Compared without trailing whitespace, so a re-indented tail or a stripped blank does not
    lose the thread; None when the text is gone.
    """
    if not texts:
        return None
    wanted = [text.rstrip() for text in texts]
    found = [
        start
        for start in lines
        if all(
            lines.get(start + offset) is not None and lines[start + offset].rstrip() == text
            for offset, text in enumerate(wanted)
        )
    ]
    if not found:
        return None
    return min(found, key=lambda start: (abs(start - near), start))
