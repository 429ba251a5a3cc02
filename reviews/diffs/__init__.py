"""The proposal page's diff viewer: unified-diff parsing and Pygments rendering.

Nothing here touches the database or git: callers hand in the diff text and, when they have
them, functions that return a file's whole old or new text. With whole files, the lexer sees
each line in the context of its file and the HTML is split into lines afterwards, so a
multi-line string or docstring is coloured right on every line it spans (shared/NOTES.md).
For Python, lexing starts at the statement around the shown lines rather than at line 1: the
colours are identical (tested on real modules), the work is proportional to the diff rather
than to the file. Without whole files, each hunk is lexed on its own.

Everything that comes out of a diff is untrusted. The only HTML produced here is Pygments'
output (it escapes the code) and markup built with format_html/escape around constants.

    parse       reading a diff: size guard, git's quoted paths, status, applying hunks
    limits      the size guards, from the WATTSON_DIFF_* settings
    model       rows, gaps, hunks, files; a hunk's table rows
    highlight   Pygments, whole-file-correct, lexing as little as is correct
    invisibles  bidi and zero-width characters, look-alike identifiers
    outline     a Python module's defs and classes, and where lexing may restart
    emphasis    the changed words inside a modified line, trailing whitespace
    render      a diff and its files into the model
    expand      unchanged lines between hunks, on demand
    interdiff   from one revision's files to the next
"""

from reviews.diffs.expand import EXPAND_MAX_LINES, context_rows, find_gap
from reviews.diffs.highlight import highlight_lines, highlight_needed, lexer_for, plain_line
from reviews.diffs.interdiff import interdiff, patched_files
from reviews.diffs.invisibles import line_warnings
from reviews.diffs.limits import DiffLimits
from reviews.diffs.model import (
    DiffView,
    FileReader,
    FileView,
    FileWarning,
    Gap,
    HunkView,
    Row,
    rows_html,
)
from reviews.diffs.outline import enclosing_scope, python_outline
from reviews.diffs.parse import (
    DiffTooLarge,
    apply_hunks,
    hex_commit,
    line_count,
    parse,
    split_keepends,
    unquote_git_path,
)
from reviews.diffs.render import RENDER_VERSION, render_diff, render_file

__all__ = [
    "EXPAND_MAX_LINES",
    "RENDER_VERSION",
    "DiffLimits",
    "DiffTooLarge",
    "DiffView",
    "FileReader",
    "FileView",
    "FileWarning",
    "Gap",
    "HunkView",
    "Row",
    "apply_hunks",
    "context_rows",
    "enclosing_scope",
    "find_gap",
    "hex_commit",
    "highlight_lines",
    "highlight_needed",
    "interdiff",
    "lexer_for",
    "line_count",
    "line_warnings",
    "parse",
    "patched_files",
    "plain_line",
    "python_outline",
    "render_diff",
    "render_file",
    "rows_html",
    "split_keepends",
    "unquote_git_path",
]
