"""Unified-diff parsing and Pygments rendering for the proposal page's diff viewer.

Nothing here touches the database or git: callers hand in the diff text and, when they have
them, functions that return a file's whole old or new text. With whole files, the lexer sees
each line in the context of its file and the HTML is split into lines afterwards, so a
multi-line string or docstring is coloured right on every line it spans (shared/NOTES.md).
For Python, lexing starts at the statement around the shown lines rather than at line 1: the
colours are identical (tested on real modules), the work is proportional to the diff rather
than to the file. Without whole files, each hunk is lexed on its own.

Everything that comes out of a diff is untrusted. The only HTML produced here is Pygments'
output (it escapes the code) and markup built with format_html/escape around constants.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import html
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from pygments import lex
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import Name
from pygments.util import ClassNotFound
from unidiff import PatchSet
from unidiff.constants import LINE_TYPE_NO_NEWLINE
from unidiff.errors import UnidiffParseError

logger = logging.getLogger(__name__)

# Bump when the rendered structure changes, so cached renders of the old shape are not reused.
RENDER_VERSION = 5

# Past these, a file is shown as plain escaped text: lexing a huge generated file would stall
# the page for everyone else's review.
HIGHLIGHT_MAX_BYTES = 200_000
HIGHLIGHT_MAX_LINES = 2_000  # diff lines in one file
# A file with more diff lines than this starts collapsed; the reviewer opens it on purpose.
COLLAPSE_LINES = 400
# Past this a file's diff is not rendered at all, only described.
RENDER_MAX_LINES = 10_000
# Past this many diff lines in the whole change, the remaining files are only described.
PAGE_MAX_LINES = 30_000
# A diff bigger than this is not parsed: the page says so and offers nothing to approve blindly.
DIFF_MAX_BYTES = 5 * 1024 * 1024
# The context-expansion endpoint returns at most this many lines per request.
EXPAND_MAX_LINES = 2_000

_FORMATTER = HtmlFormatter(nowrap=True)
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_ZERO_WIDTH = set("\u200b\u200c\u200d\u2060\ufeff")
_WORD = re.compile(r"[^\W\d]\w*")
_HEX = re.compile(r"^[0-9a-f]{4,64}$")
# Git quotes a path with unusual bytes as "a/caf\303\251.py"; the escapes are C-style octal.
_QUOTED_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class DiffTooLarge(Exception):
    """The diff is past DIFF_MAX_BYTES."""


# --- data -------------------------------------------------------------------------------------


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


# --- parsing helpers --------------------------------------------------------------------------


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


def parse(diff_text: str) -> PatchSet:
    """Parse a unified diff; raises UnidiffParseError or DiffTooLarge."""
    if len(diff_text) > DIFF_MAX_BYTES:
        raise DiffTooLarge(f"the diff is {len(diff_text) // 1024} KB")
    # PatchSet reads a StringIO, which splits on "\n" only: a "\r" inside a line stays there.
    return PatchSet(diff_text)


def _file_status(pfile) -> str:
    if pfile.is_added_file and pfile.source_file == "/dev/null":
        return "added"
    if pfile.is_removed_file and pfile.target_file == "/dev/null":
        return "deleted"
    if pfile.is_rename:
        return "renamed"
    return "modified"


def _mode_change(pfile) -> str:
    info = "".join(pfile.patch_info or [])
    old = re.search(r"^old mode (\d+)$", info, re.M)
    new = re.search(r"^new mode (\d+)$", info, re.M)
    if old and new:
        return f"mode {old.group(1)} → {new.group(1)}"
    created = re.search(r"^new file mode (120000|160000)$", info, re.M)
    if created:
        return "symbolic link" if created.group(1) == "120000" else "submodule"
    return ""


def _split_keepends(text: str) -> list[str]:
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
    old_lines = _split_keepends(old_text)
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


@lru_cache(maxsize=256)
def _lexer_for(path: str) -> Lexer:
    # stripnl=False: otherwise leading blank lines vanish and every line number shifts.
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=True)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=True)
    except Exception:  # a lexer plugin that fails on an odd name must not take the page down
        return TextLexer(stripnl=False, ensurenl=True)


def lexer_for(path: str) -> Lexer:
    return _lexer_for(path.rsplit("/", 1)[-1])


def _char_label(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _is_invisible(char: str) -> bool:
    return char in _BIDI or char in _ZERO_WIDTH or unicodedata.category(char) == "Cf"


def _mark_invisibles(line_html: str) -> str:
    """Make format/bidi characters visible: as raw text they reorder or hide code (Trojan Source).

    Pygments never puts such characters in its tags, so replacing them in the HTML is safe.
    """
    if line_html.isascii():
        return line_html
    out = []
    for char in line_html:
        if char == "\u240d":
            out.append('<span class="uc cr" title="carriage return">␍</span>')
        elif ord(char) > 127 and _is_invisible(char):
            label = escape(_char_label(char))
            out.append(f'<span class="uc" title="{label}">&lt;U+{ord(char):04X}&gt;</span>')
        else:
            out.append(char)
    return "".join(out)


def _prepare(text: str) -> tuple[str, bool]:
    """Text safe to lex line for line: "\\r" becomes a visible marker rather than a line break.

    Pygments turns every "\\r" into "\\n" and drops a leading BOM; both would shift lines or
    hide a character. Returns the text and whether a BOM was removed.
    """
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r", "\u240d")
    return text, bom


def highlight_lines(text: str, lexer: Lexer) -> tuple[list[str], dict[int, list[str]]]:
    """Lex text once and split the HTML into lines (0-based list).

    Also returns, per 1-based line, identifiers that contain non-ASCII characters: Python
    normalises identifiers (NFKC), and a Cyrillic "а" in a name is the classic look-alike.
    """
    text, bom = _prepare(text)
    suspicious: dict[int, list[str]] = {}
    if text.isascii():
        body = _format(lex(text, lexer))
    else:
        tokens = list(lex(text, lexer))
        line_no = 1
        for token_type, value in tokens:
            if token_type in Name and not value.isascii() and _WORD.search(value):
                suspicious.setdefault(line_no, []).append(value)
            line_no += value.count("\n")
        body = _format(tokens)
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not text.isascii():
        lines = [_mark_invisibles(line) for line in lines]
    if bom and lines:
        lines[0] = _mark_invisibles("\ufeff") + lines[0]
    return lines, suspicious


def _format(tokens: Iterable) -> str:
    import io

    out = io.StringIO()
    _FORMATTER.format(tokens, out)
    return out.getvalue()


def highlight_needed(
    text: str, lexer: Lexer, needed: list[int], restarts: list[int] | None
) -> tuple[dict[int, str], dict[int, list[str]]]:
    """Highlighted HTML for the needed lines (1-based, sorted), lexing as little as is correct.

    Without restart points the text is lexed from its first line to the last needed one. With
    them (top-level statement starts of a module that parses, where the lexer is back in its
    root state), each run of needed lines is lexed from the nearest restart point before it,
    so a one-line change at the end of a large module lexes one function, not the module.
    """
    if not needed:
        return {}, {}
    if not restarts:
        # No safe end point either: some rules look ahead (a docstring is matched whole), so
        # the text is lexed to its end, not just to the last needed line.
        lines, suspicious = highlight_lines(text, lexer)
        return dict(enumerate(lines, start=1)), suspicious
    segments: list[list[int]] = []
    for line_no in needed:
        start = restarts[max(0, bisect.bisect_right(restarts, line_no) - 1)]
        if segments and start <= segments[-1][1] + 1:
            segments[-1][1] = max(segments[-1][1], line_no)
        else:
            segments.append([start, line_no])
    # A segment ends where the next statement starts, never inside a statement: a docstring cut
    # in half would lex as a plain string.
    for segment in segments:
        following = bisect.bisect_right(restarts, segment[1])
        if following < len(restarts):
            segment[1] = restarts[following] - 1
        else:
            segment[1] = -1
    source = _split_keepends(text)
    html: dict[int, str] = {}
    suspicious: dict[int, list[str]] = {}
    for start, end in segments:
        stop = len(source) if end == -1 else end
        chunk, found = highlight_lines("".join(source[start - 1 : stop]), lexer)
        for offset, line_html in enumerate(chunk):
            html[start + offset] = line_html
        for line_no, names in found.items():
            suspicious[start + line_no - 1] = names
    return html, suspicious


def plain_line(text: str) -> str:
    """A line without highlighting: escaped, invisibles made visible."""
    text, _ = _prepare(text.removesuffix("\n"))
    return _mark_invisibles(html.escape(text, quote=False))


# --- warnings ---------------------------------------------------------------------------------


def line_warnings(text: str, identifiers: Iterable[str] = ()) -> list[str]:
    """What a reviewer cannot see in an added line: bidi controls, zero-width and other format
    characters, and identifiers with non-ASCII look-alike letters."""
    if text.isascii():
        return []
    found: list[str] = []
    seen: set[str] = set()
    for column, char in enumerate(text.rstrip("\n"), start=1):
        if ord(char) < 128 or char in seen:
            continue
        if char in _BIDI:
            kind = "bidirectional control"
        elif char in _ZERO_WIDTH:
            kind = "zero-width character"
        elif unicodedata.category(char) == "Cf":
            kind = "invisible format character"
        else:
            continue
        seen.add(char)
        found.append(f"{_char_label(char)} ({kind}) at column {column}")
    names = set(identifiers)
    for word in _WORD.findall(text):
        if word.isascii() or word in seen:
            continue
        # Letters from two scripts in one word ("pаssword" with a Cyrillic а, or a fullwidth
        # letter) are look-alikes wherever they are; a non-ASCII name the lexer saw as an
        # identifier is worth a look too. Accented words in strings and comments are not.
        if len(_scripts(word)) > 1 or word in names:
            seen.add(word)
            others = ", ".join(
                f"{c} {_char_label(c)}" for c in dict.fromkeys(word) if not c.isascii()
            )
            found.append(f"identifier “{word}” contains non-ASCII letters ({others})")
    return found


def _scripts(word: str) -> set[str]:
    """The scripts of a word's letters, by the first word of their Unicode names."""
    scripts = set()
    for char in word:
        if char.isalpha():
            scripts.add("LATIN" if char.isascii() else unicodedata.name(char, "?").split(" ")[0])
    return scripts


# --- enclosing functions ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    start: int
    end: int
    label: str


def python_outline(text: str) -> tuple[list[_Scope], list[int]] | None:
    """A module's defs and classes with their line spans, and its lexer restart points; None
    if it does not parse.

    A restart point is the first line of a statement (or of its decorators) with only
    indentation before it: Pygments' Python lexer is back in its root state there, so lexing
    may start at it and colour every later line exactly as lexing the whole file would.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = text.split("\n")
    scopes: list[_Scope] = []
    restarts = {1}
    # Walk statement lists only (definitions and statement starts live there), not every
    # expression node: several times cheaper than ast.walk on a large module.
    pending: list[tuple[list[ast.stmt], str]] = [(tree.body, "")]
    while pending:
        body, prefix = pending.pop()
        for node in body:
            decorators = getattr(node, "decorator_list", None) or []
            first = min([node.lineno, *(d.lineno for d in decorators)])
            # col_offset counts UTF-8 bytes; a whitespace-only prefix has as many characters.
            col = node.col_offset
            if col == 0 or (
                lines[node.lineno - 1][:col].isspace() and lines[first - 1][:col].isspace()
            ):
                restarts.add(first)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                qualname = f"{prefix}{node.name}"
                keyword = "class" if isinstance(node, ast.ClassDef) else "def"
                end = node.end_lineno or node.lineno
                scopes.append(_Scope(first, end, f"{keyword} {qualname}"))
                pending.append((node.body, qualname + "."))
                continue
            for field_name in ("body", "orelse", "finalbody"):
                child = getattr(node, field_name, None)
                if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
                    pending.append((child, prefix))
            for item in getattr(node, "handlers", None) or getattr(node, "cases", None) or []:
                pending.append((item.body, prefix))
    return scopes, sorted(restarts)


def enclosing_scope(scopes: list[_Scope], line_no: int) -> str:
    best = ""
    best_size = None
    for scope in scopes:
        if scope.start <= line_no <= scope.end:
            size = scope.end - scope.start
            if best_size is None or size <= best_size:
                best, best_size = scope.label, size
    return best


# --- rendering --------------------------------------------------------------------------------


@dataclass
class _Side:
    """One side (old or new) of a file: its highlighted lines, if it could be read."""

    lines: dict[int, str] = field(default_factory=dict)  # 1-based line → highlighted HTML
    suspicious: dict[int, list[str]] = field(default_factory=dict)
    length: int | None = None
    text: str | None = None
    python: bool = False
    _outline: tuple[list[_Scope], list[int]] | None = None
    _parsed: bool = False

    def outline(self) -> tuple[list[_Scope], list[int]] | None:
        if not self._parsed:
            self._parsed = True
            if self.python and self.text is not None and len(self.text) <= HIGHLIGHT_MAX_BYTES:
                self._outline = python_outline(self.text)
        return self._outline

    def scopes(self) -> list[_Scope] | None:
        outline = self.outline()
        return outline[0] if outline else None

    def restarts(self) -> list[int] | None:
        outline = self.outline()
        return outline[1] if outline else None


def _hunk_header(hunk) -> str:
    old = f"-{hunk.source_start},{hunk.source_length}"
    new = f"+{hunk.target_start},{hunk.target_length}"
    return f"@@ {old} {new} @@"


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
) -> FileView:
    old_path = unquote_git_path(pfile.source_file)
    new_path = unquote_git_path(pfile.target_file)
    status = _file_status(pfile)
    view = FileView(
        index=index,
        old_path=old_path or new_path,
        new_path=new_path or old_path,
        status=status,
        is_binary=bool(pfile.is_binary_file),
        mode_change=_mode_change(pfile),
    )
    if view.is_binary:
        view.notices.append("Binary file: its content is not shown.")
        return view
    if not len(pfile):
        if status == "renamed":
            view.notices.append("Renamed without changes.")
        elif view.mode_change:
            view.notices.append("Only the file mode changed.")
        else:
            view.notices.append("No content changes.")
        return view

    diff_lines = sum(len(h) for h in pfile)
    view.added, view.removed = pfile.added, pfile.removed
    lexer = lexer_for(view.path)
    view.language = lexer.name
    if diff_lines > RENDER_MAX_LINES:
        view.too_large = True
        view.highlight = "off"
        view.notices.append(
            f"This file's diff has {diff_lines:,} lines, too many to show here; "
            "review it with git instead."
        )
        return view
    view.collapsed = diff_lines > COLLAPSE_LINES

    old_side, new_side = _Side(), _Side()
    old_text = None if status == "added" else _read(read_old, view.old_path)
    if status == "added":
        old_text = ""
    new_text: str | None
    if status == "deleted":
        new_text = ""
    elif read_new is not None:
        new_text = _read(read_new, view.new_path)
    else:
        new_text = apply_hunks(old_text, pfile) if old_text is not None else None
        if status == "added" and new_text is None:
            new_text = None
    if old_text is not None and new_text is None and read_new is None:
        view.notices.append(
            "The diff does not match the file at the base commit; lines are shown without "
            "surrounding context."
        )
        old_text = None

    # The hunks' own size counts too: without the repository, a hunk of minified code is all
    # there is to lex.
    hunk_chars = sum(len(line.value) for hunk in pfile for line in hunk)
    too_big = (
        diff_lines > HIGHLIGHT_MAX_LINES
        or hunk_chars > HIGHLIGHT_MAX_BYTES
        or any(
            text is not None and len(text) > HIGHLIGHT_MAX_BYTES for text in (old_text, new_text)
        )
    )
    if not highlight or too_big:
        view.highlight = "off"
        if too_big:
            view.notices.append(
                "Syntax highlighting is off for this file: it is larger than "
                f"{HIGHLIGHT_MAX_BYTES // 1000} KB or {HIGHLIGHT_MAX_LINES:,} changed lines."
            )
    elif old_text is None or new_text is None:
        view.highlight = "hunks"
    is_python = view.language == "Python"
    old_side.text, old_side.python = old_text, is_python
    new_side.text, new_side.python = new_text, is_python
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
    view.expandable = old_text is not None and status in ("modified", "renamed")

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
        view.hunks.append(HunkView(_hunk_header(hunk), function, gap, rows, index))
        prev_old_end = hunk.source_start + hunk.source_length - (1 if hunk.source_length else 0)
        delta = _delta_after(hunk)
    if view.expandable and old_side.length is not None and old_side.length > prev_old_end:
        view.gap_after = Gap(prev_old_end + 1, old_side.length, prev_old_end + 1 + delta)
    return view


def _delta_after(hunk) -> int:
    """New minus old line number for the unchanged lines after a hunk.

    An empty side is written as the line *before* it ("@@ -5,0 +6,2 @@" inserts after old
    line 5), so its next line is start + 1, not start + length.
    """
    next_old = hunk.source_start + (hunk.source_length or 1)
    next_new = hunk.target_start + (hunk.target_length or 1)
    return next_new - next_old


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


def _hunk_rows(hunk, view: FileView, old_side: _Side, new_side: _Side, lexer: Lexer) -> list[Row]:
    rows: list[Row] = []
    texts: list[str] = []
    old_html: dict[int, str] = {}
    new_html: dict[int, str] = {}
    if view.highlight == "hunks":
        # Lex this hunk's old side and new side on their own: better than line by line.
        old_src = [ln for ln in hunk if ln.is_context or ln.is_removed]
        new_src = [ln for ln in hunk if ln.is_context or ln.is_added]
        old_lines, _ = highlight_lines("".join(_as_line(ln.value) for ln in old_src), lexer)
        new_lines, _ = highlight_lines("".join(_as_line(ln.value) for ln in new_src), lexer)
        old_html = {ln.source_line_no: h for ln, h in zip(old_src, old_lines, strict=False)}
        new_html = {ln.target_line_no: h for ln, h in zip(new_src, new_lines, strict=False)}
    for line in hunk:
        if line.line_type == LINE_TYPE_NO_NEWLINE:
            rows.append(Row("note", None, None, mark_safe("No newline at end of file")))  # noqa: S308 constant
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
    _emphasise_changes(rows, texts)
    for row, text in zip(rows, texts, strict=True):
        body = text.rstrip("\r\n")
        if row.kind == "add" and body != body.rstrip(" \t"):
            # Trailing whitespace a change adds is noise a reviewer wants to see.
            row.html = _mark_ranges(row.html, body, [(len(body.rstrip(" \t")), len(body))], "tw")
    return rows


_EMPHASIS_MAX_CHARS = 400
_WORDS_OR_PUNCT = re.compile(r"\w+|\s+|[^\w\s]")
_HTML_PIECES = re.compile(r"<[^>]*>|&[#\w]+;|[^<&]+")


def _emphasise_changes(rows: list[Row], texts: list[str]) -> None:
    """Mark the words that changed inside a modified line, as Gerrit and Review Board do.

    Removed lines are paired with the added lines that follow them, in order; a pair that
    shares too little gets no marks (the whole line is the change).
    """
    index = 0
    while index < len(rows):
        if rows[index].kind != "del":
            index += 1
            continue
        dels_start = index
        while index < len(rows) and rows[index].kind == "del":
            index += 1
        adds_start = index
        while index < len(rows) and rows[index].kind == "add":
            index += 1
        pairs = min(adds_start - dels_start, index - adds_start)
        for offset in range(pairs):
            _emphasise_pair(
                rows[dels_start + offset],
                texts[dels_start + offset],
                rows[adds_start + offset],
                texts[adds_start + offset],
            )


def _emphasise_pair(old_row: Row, old_text: str, new_row: Row, new_text: str) -> None:
    old_text, new_text = old_text.rstrip("\n"), new_text.rstrip("\n")
    if max(len(old_text), len(new_text)) > _EMPHASIS_MAX_CHARS or old_text == new_text:
        return
    old_words = _WORDS_OR_PUNCT.findall(old_text)
    new_words = _WORDS_OR_PUNCT.findall(new_text)
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    if matcher.ratio() < 0.4:
        return
    old_ranges, new_ranges = [], []
    old_starts = _offsets(old_words)
    new_starts = _offsets(new_words)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            old_ranges.append((old_starts[i1], old_starts[i2]))
        if j2 > j1:
            new_ranges.append((new_starts[j1], new_starts[j2]))
    old_row.html = _mark_ranges(old_row.html, old_text, old_ranges)
    new_row.html = _mark_ranges(new_row.html, new_text, new_ranges)


def _offsets(words: list[str]) -> list[int]:
    starts = [0]
    for word in words:
        starts.append(starts[-1] + len(word))
    return starts


def _mark_ranges(
    line_html: str, text: str, ranges: list[tuple[int, int]], css_class: str = "x"
) -> SafeString:
    """Wrap the characters in ranges with <span class="x"> (a constant class), inside
    Pygments' spans.

    Only text is wrapped (never across a tag), so the result nests correctly. If the line's
    visible text is not exactly `text` (invisible characters were replaced by markers), the
    line is left as it is rather than marked in the wrong place.
    """
    if not ranges or "\r" in text:
        return SafeString(line_html)
    out: list[str] = []
    position = 0
    for piece in _HTML_PIECES.findall(line_html):
        if piece.startswith("<"):
            out.append(piece)
            continue
        if piece.startswith("&"):  # an entity is one character of text
            marked = any(start <= position < end for start, end in ranges)
            out.append(_wrap(piece, marked, css_class))
            position += 1
            continue
        # Cut the text run at the range edges that fall inside it.
        end_of_piece = position + len(piece)
        cuts = sorted(
            {position, end_of_piece}
            | {edge for r in ranges for edge in r if position < edge < end_of_piece}
        )
        for left, right in zip(cuts, cuts[1:], strict=False):
            marked = any(start <= left < end for start, end in ranges)
            out.append(_wrap(piece[left - position : right - position], marked, css_class))
        position = end_of_piece
    if position != len(text):
        return SafeString(line_html)
    return SafeString("".join(out))  # noqa: S308 re-assembled from Pygments' escaped HTML


def _wrap(chunk: str, marked: bool, css_class: str) -> str:
    return f'<span class="{css_class}">{chunk}</span>' if marked else chunk


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


def _as_line(value: str) -> str:
    return value if value.endswith("\n") else value + "\n"


def render_diff(
    diff_text: str,
    *,
    read_old: FileReader | None = None,
    read_new: FileReader | None = None,
    highlight: bool = True,
) -> DiffView:
    """Parse and render a whole diff; a bad or oversized diff becomes a DiffView with an error."""
    if not diff_text.strip():
        return DiffView(files=[])
    try:
        patch = parse(diff_text)
    except DiffTooLarge as exc:
        return DiffView(files=[], error=f"This diff is too large to show ({exc}).")
    except (UnidiffParseError, ValueError, AssertionError) as exc:
        return DiffView(files=[], error=f"This diff could not be parsed: {exc}")
    files = []
    budget = PAGE_MAX_LINES
    for index, pfile in enumerate(patch):
        lines = sum(len(hunk) for hunk in pfile)
        if lines > budget:
            # The page has shown enough: past this, a browser tab struggles and a reviewer
            # should not approve what they could not read here.
            files.append(_described_only(index, pfile, lines))
            continue
        budget -= lines
        files.append(_render_file_safely(index, pfile, read_old, read_new, highlight))
    return DiffView(files=files)


def _render_file_safely(index, pfile, read_old, read_new, highlight) -> FileView:
    """A file the highlighter chokes on is shown plain, never a broken review page."""
    try:
        return render_file(index, pfile, read_old=read_old, read_new=read_new, highlight=highlight)
    except Exception as exc:  # a lexer or an odd diff must not hide the rest of the change
        logger.exception("diff rendering failed for file %s; showing it plain", index)
        try:
            view = render_file(index, pfile, highlight=False)
        except Exception:
            view = _described_only(index, pfile, sum(len(h) for h in pfile))
            view.notices = []
        view.notices.insert(
            0, f"This file could not be highlighted ({type(exc).__name__}); shown as plain text."
        )
        return view


def _described_only(index: int, pfile, lines: int) -> FileView:
    old_path = unquote_git_path(pfile.source_file)
    new_path = unquote_git_path(pfile.target_file)
    view = FileView(
        index=index,
        old_path=old_path or new_path,
        new_path=new_path or old_path,
        status=_file_status(pfile),
        added=pfile.added,
        removed=pfile.removed,
        is_binary=bool(pfile.is_binary_file),
        highlight="off",
        too_large=True,
    )
    view.notices.append(
        f"Not shown: this change is past {PAGE_MAX_LINES:,} diff lines on one page "
        f"({lines:,} lines in this file). Review it with git."
    )
    return view


def context_rows(
    old_text: str, path: str, *, old_start: int, old_end: int, new_start: int
) -> list[Row]:
    """Unchanged lines old_start..old_end (inclusive) of the old file, highlighted in the
    context of the whole file."""
    source = _split_keepends(old_text)
    old_start = max(1, old_start)
    old_end = min(old_end, old_start + EXPAND_MAX_LINES - 1, len(source))
    wanted = list(range(old_start, old_end + 1))
    lexer = lexer_for(path)
    if len(old_text) <= HIGHLIGHT_MAX_BYTES:
        outline = python_outline(old_text) if lexer.name == "Python" else None
        html, _ = highlight_needed(old_text, lexer, wanted, outline[1] if outline else None)
    else:
        html = {n: plain_line(source[n - 1]) for n in wanted}
    return [
        Row("ctx", n, new_start + (n - old_start), SafeString(html.get(n) or "")) for n in wanted
    ]


def find_gap(pfile, *, old_length: int | None, old_start: int, old_end: int) -> Gap | None:
    """The gap of unchanged lines containing old_start..old_end, or None if that range is not
    wholly outside the hunks: the expand endpoint never returns a changed line as context."""
    if old_start < 1 or old_end < old_start:
        return None
    delta = 0
    prev_old_end = 0
    for hunk in pfile:
        hunk_old_first = hunk.source_start if hunk.source_length else hunk.source_start + 1
        if old_end < hunk_old_first:
            return Gap(old_start, old_end, old_start + delta) if old_start > prev_old_end else None
        prev_old_end = hunk.source_start + hunk.source_length - (1 if hunk.source_length else 0)
        delta = _delta_after(hunk)
    if old_start > prev_old_end and (old_length is None or old_end <= old_length):
        return Gap(old_start, old_end, old_start + delta)
    return None


# --- interdiff --------------------------------------------------------------------------------


def patched_files(diff_text: str, read_old: FileReader) -> dict[str, str | None]:
    """{path: resulting text (None when deleted)} for every file a diff touches."""
    result: dict[str, str | None] = {}
    for pfile in parse(diff_text):
        status = _file_status(pfile)
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
        before_lines = _split_keepends(before or "")
        after_lines = _split_keepends(after or "")
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


def hex_commit(value: str) -> bool:
    """A base commit we are willing to pass to git: hex only, no options, no revision syntax."""
    return bool(_HEX.match(value or ""))
