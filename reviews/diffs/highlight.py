"""Pygments highlighting of whole files, split into lines afterwards, lexing as little as is
correct: from the nearest statement start before the needed lines, never from line 1."""

from __future__ import annotations

import bisect
import html
import io
from collections.abc import Iterable
from functools import lru_cache

from pygments import lex
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import Name
from pygments.util import ClassNotFound

from reviews.diffs.invisibles import WORD, mark_invisibles
from reviews.diffs.parse import split_keepends

_FORMATTER = HtmlFormatter(nowrap=True)


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
            if token_type in Name and not value.isascii() and WORD.search(value):
                suspicious.setdefault(line_no, []).append(value)
            line_no += value.count("\n")
        body = _format(tokens)
    lines = body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not text.isascii():
        lines = [mark_invisibles(line) for line in lines]
    if bom and lines:
        lines[0] = mark_invisibles("\ufeff") + lines[0]
    return lines, suspicious


def _format(tokens: Iterable) -> str:
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
    source = split_keepends(text)
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
    return mark_invisibles(html.escape(text, quote=False))


def clear_lexer_cache() -> None:
    """Forget the lexers made so far (a benchmark's cold start)."""
    _lexer_for.cache_clear()
