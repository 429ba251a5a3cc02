"""Rendering a parsed diff into the viewer's data: each file's hunks, rows, gaps and notices.

Callers hand in the diff text and, when they have them, functions that return a file's whole
old or new text. With whole files, the lexer sees each line in the context of its file, so a
multi-line string or docstring is coloured right on every line it spans; without them each
hunk is lexed on its own. Size guards come from reviews.diffs.limits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.utils.safestring import SafeString, mark_safe
from pygments.lexer import Lexer
from unidiff.constants import LINE_TYPE_NO_NEWLINE
from unidiff.errors import UnidiffParseError

from reviews.diffs.emphasis import emphasise_changes, mark_trailing_whitespace
from reviews.diffs.highlight import highlight_lines, highlight_needed, lexer_for, plain_line
from reviews.diffs.invisibles import line_warnings
from reviews.diffs.limits import DiffLimits
from reviews.diffs.model import DiffView, FileReader, FileView, FileWarning, Gap, HunkView, Row
from reviews.diffs.outline import Scope, enclosing_scope, python_outline
from reviews.diffs.parse import (
    DiffTooLarge,
    apply_hunks,
    delta_after,
    file_status,
    hunk_header,
    line_count,
    mode_change,
    parse,
    unquote_git_path,
)

logger = logging.getLogger(__name__)

# Bump when the rendered structure changes, so cached renders of the old shape are not reused
# (7: base files read as bytes, so files with "\r" in lines or non-UTF-8 bytes get whole-file
# highlighting where they were shown hunk by hunk).
RENDER_VERSION = 7


def render_diff(
    diff_text: str,
    *,
    read_old: FileReader | None = None,
    read_new: FileReader | None = None,
    highlight: bool = True,
    limits: DiffLimits | None = None,
) -> DiffView:
    """Parse and render a whole diff; a bad or oversized diff becomes a DiffView with an error.

    limits default to the WATTSON_DIFF_* settings.
    """
    if not diff_text.strip():
        return DiffView(files=[])
    limits = limits or DiffLimits.current()
    try:
        patch = parse(diff_text, max_bytes=limits.diff_max_bytes)
    except DiffTooLarge as exc:
        return DiffView(files=[], error=f"This diff is too large to show ({exc}).")
    except (UnidiffParseError, ValueError, AssertionError) as exc:
        return DiffView(files=[], error=f"This diff could not be parsed: {exc}")
    files = []
    budget = limits.page_max_lines
    for index, pfile in enumerate(patch):
        lines = sum(len(hunk) for hunk in pfile)
        if lines > budget:
            # The page has shown enough: past this, a browser tab struggles and a reviewer
            # should not approve what they could not read here.
            files.append(_described_only(index, pfile, lines, limits.page_max_lines))
            continue
        budget -= lines
        files.append(_render_file_safely(index, pfile, read_old, read_new, highlight, limits))
    return DiffView(files=files)


def _render_file_safely(index, pfile, read_old, read_new, highlight, limits) -> FileView:
    """A file the highlighter chokes on is shown plain, never a broken review page."""
    try:
        return render_file(
            index, pfile, read_old=read_old, read_new=read_new, highlight=highlight, limits=limits
        )
    except Exception as exc:  # a lexer or an odd diff must not hide the rest of the change
        logger.exception("diff rendering failed for file %s; showing it plain", index)
        try:
            view = render_file(index, pfile, highlight=False, limits=limits)
        except Exception:
            lines = sum(len(h) for h in pfile)
            view = _described_only(index, pfile, lines, limits.page_max_lines)
            view.notices = []
        view.notices.insert(
            0, f"This file could not be highlighted ({type(exc).__name__}); shown as plain text."
        )
        return view


def _file_view(index: int, pfile, **fields) -> FileView:
    """A file's view with its paths (git's quoting undone), status and binary flag."""
    old_path = unquote_git_path(pfile.source_file)
    new_path = unquote_git_path(pfile.target_file)
    return FileView(
        index=index,
        old_path=old_path or new_path,
        new_path=new_path or old_path,
        status=file_status(pfile),
        is_binary=bool(pfile.is_binary_file),
        **fields,
    )


def _described_only(index: int, pfile, lines: int, page_max_lines: int) -> FileView:
    view = _file_view(
        index, pfile, added=pfile.added, removed=pfile.removed, highlight="off", too_large=True
    )
    view.notices.append(
        f"Not shown: this change is past {page_max_lines:,} diff lines on one page "
        f"({lines:,} lines in this file). Review it with git."
    )
    return view


@dataclass
class _Side:
    """One side (old or new) of a file: its highlighted lines, if it could be read."""

    lines: dict[int, str] = field(default_factory=dict)  # 1-based line → highlighted HTML
    suspicious: dict[int, list[str]] = field(default_factory=dict)
    length: int | None = None
    text: str | None = None
    python: bool = False
    outline_max_bytes: int = 0  # a larger text is not parsed for its outline
    _outline: tuple[list[Scope], list[int]] | None = None
    _parsed: bool = False

    def outline(self) -> tuple[list[Scope], list[int]] | None:
        if not self._parsed:
            self._parsed = True
            if self.python and self.text is not None and len(self.text) <= self.outline_max_bytes:
                self._outline = python_outline(self.text)
        return self._outline

    def scopes(self) -> list[Scope] | None:
        outline = self.outline()
        return outline[0] if outline else None

    def restarts(self) -> list[int] | None:
        outline = self.outline()
        return outline[1] if outline else None


def _read(reader: FileReader | None, path: str) -> str | None:
    if reader is None or not path:
        return None
    try:
        return reader(path)
    except Exception:  # a reader failing for one file must not hide the rest of the diff
        return None


def render_file(
    index: int,
    pfile,
    *,
    read_old: FileReader | None = None,
    read_new: FileReader | None = None,
    highlight: bool = True,
    limits: DiffLimits | None = None,
) -> FileView:
    """One file of a diff as the viewer shows it; limits default to the WATTSON_DIFF_* settings."""
    limits = limits or DiffLimits.current()
    view = _file_view(index, pfile, mode_change=mode_change(pfile))
    if view.is_binary or not len(pfile):
        view.notices.append(_no_content_notice(view))
        return view

    diff_lines = sum(len(h) for h in pfile)
    view.added, view.removed = pfile.added, pfile.removed
    lexer = lexer_for(view.path)
    view.language = lexer.name
    if diff_lines > limits.file_max_lines:
        view.too_large = True
        view.highlight = "off"
        view.notices.append(
            f"This file's diff has {diff_lines:,} lines, too many to show here; "
            "review it with git instead."
        )
        return view
    view.collapsed = diff_lines > limits.collapse_lines

    old_text, new_text = _read_texts(view, pfile, read_old, read_new)
    _choose_highlighting(view, pfile, old_text, new_text, highlight, limits)
    old_side, new_side = _highlight_sides(view, pfile, lexer, old_text, new_text, limits)
    view.expandable = old_text is not None and view.status in ("modified", "renamed")
    _add_hunks(view, pfile, old_side, new_side, lexer)
    return view


def _no_content_notice(view: FileView) -> str:
    if view.is_binary:
        return "Binary file: its content is not shown."
    if view.status == "renamed":
        return "Renamed without changes."
    if view.mode_change:
        return "Only the file mode changed."
    return "No content changes."


def _read_texts(
    view: FileView, pfile, read_old: FileReader | None, read_new: FileReader | None
) -> tuple[str | None, str | None]:
    """The file's whole old and new text, each None when it cannot be had."""
    old_text = "" if view.status == "added" else _read(read_old, view.old_path)
    new_text: str | None
    if view.status == "deleted":
        new_text = ""
    elif read_new is not None:
        new_text = _read(read_new, view.new_path)
    else:
        new_text = apply_hunks(old_text, pfile) if old_text is not None else None
    if old_text is not None and new_text is None and read_new is None:
        view.notices.append(
            "The diff does not match the file at the base commit; lines are shown without "
            "surrounding context."
        )
        old_text = None
    return old_text, new_text


def _choose_highlighting(
    view: FileView,
    pfile,
    old_text: str | None,
    new_text: str | None,
    highlight: bool,
    limits: DiffLimits,
) -> None:
    """Whole files ("file"), each hunk alone ("hunks") or plain text ("off")."""
    # The hunks' own size counts too: without the repository, a hunk of minified code is all
    # there is to lex.
    hunk_chars = sum(len(line.value) for hunk in pfile for line in hunk)
    too_big = (
        sum(len(h) for h in pfile) > limits.highlight_max_lines
        or hunk_chars > limits.highlight_max_bytes
        or any(
            text is not None and len(text) > limits.highlight_max_bytes
            for text in (old_text, new_text)
        )
    )
    if not highlight or too_big:
        view.highlight = "off"
        if too_big:
            view.notices.append(
                "Syntax highlighting is off for this file: it is larger than "
                f"{limits.highlight_max_bytes // 1000} KB or "
                f"{limits.highlight_max_lines:,} changed lines."
            )
    elif old_text is None or new_text is None:
        view.highlight = "hunks"


def _highlight_sides(
    view: FileView,
    pfile,
    lexer: Lexer,
    old_text: str | None,
    new_text: str | None,
    limits: DiffLimits,
) -> tuple[_Side, _Side]:
    is_python = view.language == "Python"
    max_bytes = limits.highlight_max_bytes
    old_side = _Side(text=old_text, python=is_python, outline_max_bytes=max_bytes)
    new_side = _Side(text=new_text, python=is_python, outline_max_bytes=max_bytes)
    if old_text is not None:
        old_side.length = line_count(old_text)
    if view.highlight == "file":
        # Context lines come from the new side; the old side is lexed only for removed lines.
        old_needed = sorted({ln.source_line_no for h in pfile for ln in h if ln.is_removed})
        new_needed = sorted(
            {ln.target_line_no for h in pfile for ln in h if ln.is_added or ln.is_context}
        )
        old_side.lines, old_side.suspicious = highlight_needed(
            old_text, lexer, old_needed, old_side.restarts()
        )
        new_side.lines, new_side.suspicious = highlight_needed(
            new_text, lexer, new_needed, new_side.restarts()
        )
    elif new_text is not None and not new_text.isascii():
        _, new_side.suspicious = highlight_lines(new_text, lexer)
    return old_side, new_side


def _add_hunks(view: FileView, pfile, old_side: _Side, new_side: _Side, lexer: Lexer) -> None:
    """The file's hunks, each with the gap of unchanged lines before it, and the gap after."""
    delta = 0  # new line number minus old line number, outside hunks
    prev_old_end = 0  # last old line covered so far
    for hunk in pfile:
        gap = None
        hunk_old_first = hunk.source_start if hunk.source_length else hunk.source_start + 1
        if view.expandable and hunk_old_first - 1 > prev_old_end:
            gap = Gap(prev_old_end + 1, hunk_old_first - 1, prev_old_end + 1 + delta)
        rows = _hunk_rows(hunk, view, old_side, new_side, lexer)
        function = _hunk_function(hunk, old_side, new_side)
        if function is None:
            function = hunk.section_header.strip()
        view.hunks.append(HunkView(hunk_header(hunk), function, gap, rows, view.index))
        prev_old_end = hunk.source_start + hunk.source_length - (1 if hunk.source_length else 0)
        delta = delta_after(hunk)
    if view.expandable and old_side.length is not None and old_side.length > prev_old_end:
        view.gap_after = Gap(prev_old_end + 1, old_side.length, prev_old_end + 1 + delta)


def _hunk_function(hunk, old_side: _Side, new_side: _Side) -> str | None:
    """The innermost def/class around the hunk's first changed line inside one; None when
    neither side could be parsed (the caller then uses git's section header)."""
    if not (old_side.python or new_side.python):
        return None
    parsed = False
    for line in hunk:
        if line.is_removed:
            scopes, line_no = old_side.scopes(), line.source_line_no
        elif line.is_added:
            scopes, line_no = new_side.scopes(), line.target_line_no
        else:
            continue
        if scopes is None:
            continue
        parsed = True
        label = enclosing_scope(scopes, line_no)
        if label:
            return label
    return "" if parsed else None


_NO_NEWLINE_NOTE = mark_safe("No newline at end of file")  # noqa: S308 constant


def _hunk_rows(hunk, view: FileView, old_side: _Side, new_side: _Side, lexer: Lexer) -> list[Row]:
    rows: list[Row] = []
    texts: list[str] = []
    old_html, new_html = _hunk_alone_html(hunk, lexer) if view.highlight == "hunks" else ({}, {})
    for line in hunk:
        if line.line_type == LINE_TYPE_NO_NEWLINE:
            rows.append(Row("note", None, None, _NO_NEWLINE_NOTE))
            texts.append("")
            continue
        if line.is_added:
            kind, old_no, new_no = "add", None, line.target_line_no
        elif line.is_removed:
            kind, old_no, new_no = "del", line.source_line_no, None
        elif line.is_context:
            kind, old_no, new_no = "ctx", line.source_line_no, line.target_line_no
        else:
            continue
        code = None
        if view.highlight == "file":
            code = new_side.lines.get(new_no) if new_no is not None else None
            if code is None and old_no is not None:
                code = old_side.lines.get(old_no)
        elif view.highlight == "hunks":
            code = new_html.get(new_no) if new_no is not None else old_html.get(old_no)
        if code is None:
            code = plain_line(line.value)
        warnings: list[str] = []
        if kind == "add":
            warnings = line_warnings(line.value, new_side.suspicious.get(new_no, ()))
            for message in warnings:
                view.warnings.append(
                    FileWarning(view.index, view.path, new_no, f"f{view.index}-n{new_no}", message)
                )
        rows.append(Row(kind, old_no, new_no, SafeString(code), warnings))
        texts.append(line.value)
    emphasise_changes(rows, texts)
    mark_trailing_whitespace(rows, texts)
    return rows


def _hunk_alone_html(hunk, lexer: Lexer) -> tuple[dict[int, str], dict[int, str]]:
    """A hunk's old side and new side lexed on their own: better than line by line."""
    old_src = [ln for ln in hunk if ln.is_context or ln.is_removed]
    new_src = [ln for ln in hunk if ln.is_context or ln.is_added]
    old_lines, _ = highlight_lines("".join(_as_line(ln.value) for ln in old_src), lexer)
    new_lines, _ = highlight_lines("".join(_as_line(ln.value) for ln in new_src), lexer)
    old_html = {ln.source_line_no: h for ln, h in zip(old_src, old_lines, strict=False)}
    new_html = {ln.target_line_no: h for ln, h in zip(new_src, new_lines, strict=False)}
    return old_html, new_html


def _as_line(value: str) -> str:
    return value if value.endswith("\n") else value + "\n"
