"""The diff viewer's data: rows, gaps, hunks, files and the whole diff, and the table rows a
hunk renders to. Plain data, filled in by reviews.diffs.render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


@dataclass
class Row:
    """One line of a file's diff as the viewer shows it."""

    kind: str  # "ctx" | "add" | "del" | "note"
    old_no: int | None
    new_no: int | None
    html: SafeString
    warnings: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"n{self.new_no}" if self.new_no is not None else f"o{self.old_no}"


@dataclass
class Gap:
    """Unchanged lines the diff leaves out, fetched on demand (old-file numbering)."""

    old_start: int
    old_end: int  # inclusive
    new_start: int

    @property
    def count(self) -> int:
        return self.old_end - self.old_start + 1


@dataclass
class HunkView:
    header: str  # "@@ -12,7 +12,8 @@"
    function: str  # the enclosing def/class, or git's section header
    gap_before: Gap | None
    rows: list[Row]
    file_index: int = 0

    @property
    def rows_html(self) -> SafeString:
        return rows_html(self.rows, self.file_index)


@dataclass
class FileWarning:
    file_index: int
    path: str
    line: int
    anchor: str
    message: str


@dataclass
class FileView:
    index: int
    old_path: str
    new_path: str
    status: str  # "added" | "deleted" | "modified" | "renamed"
    added: int = 0
    removed: int = 0
    is_binary: bool = False
    language: str = "Text"
    # "file": whole files lexed; "hunks": each hunk lexed alone; "off": plain text.
    highlight: str = "file"
    notices: list[str] = field(default_factory=list)
    mode_change: str = ""
    collapsed: bool = False
    too_large: bool = False
    expandable: bool = False
    hunks: list[HunkView] = field(default_factory=list)
    gap_after: Gap | None = None
    warnings: list[FileWarning] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path if self.status != "deleted" else self.old_path

    @property
    def is_rename(self) -> bool:
        return self.status == "renamed"

    @property
    def bar(self) -> list[str]:
        """Five diffstat blocks ("add"/"del"/"none"), as GitHub draws them; CSS has no widths."""
        total = self.added + self.removed
        if not total:
            return ["none"] * 5
        adds = round(5 * self.added / total) if total >= 5 else min(self.added, 5)
        dels = min(5 - adds, round(5 * self.removed / total) if total >= 5 else self.removed)
        return ["add"] * adds + ["del"] * dels + ["none"] * (5 - adds - dels)

    @property
    def line_count(self) -> int:
        return sum(len(h.rows) for h in self.hunks)

    @property
    def has_gaps(self) -> bool:
        return self.gap_after is not None or any(h.gap_before for h in self.hunks)


@dataclass
class DiffView:
    files: list[FileView]
    error: str = ""

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.removed for f in self.files)

    @property
    def warnings(self) -> list[FileWarning]:
        return [w for f in self.files for w in f.warnings]


FileReader = Callable[[str], "str | None"]


_ROW = (
    '<tr class="r {}" data-o="{}" data-n="{}"><td class="ln">{}</td><td class="ln">{}</td>'
    '<td class="code hl">{}</td></tr>'
)
_WARN_ROW = (
    '<tr class="r {} warn" id="f{}-n{}" data-o="{}" data-n="{}"><td class="ln">{}</td>'
    '<td class="ln">{}</td><td class="code hl">{}</td></tr>'
    '<tr class="wmsg"><td class="ln" colspan="2">⚠</td><td>{}</td></tr>'
)


def rows_html(rows: list[Row], file_index: int) -> SafeString:
    """Table rows for the unified view (diff.js derives side-by-side from them).

    Built in Python rather than a template loop: a 5,000-line diff renders several times
    faster. Every value goes through format_html; row.html is Pygments' (escaped) output.
    """
    parts = []
    for row in rows:
        old = "" if row.old_no is None else row.old_no
        new = "" if row.new_no is None else row.new_no
        if row.warnings:
            messages = format_html_join(
                "", '<span class="wtext">{}</span>', ((w,) for w in row.warnings)
            )
            parts.append(
                format_html(
                    _WARN_ROW, row.kind, file_index, new, old, new, old, new, row.html, messages
                )
            )
        else:
            parts.append(format_html(_ROW, row.kind, old, new, old, new, row.html))
    return SafeString("\n".join(parts))  # noqa: S308 every part is format_html output
