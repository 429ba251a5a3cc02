"""Marks inside changed lines: the words that changed between a removed line and the added line
that replaces it (as Gerrit and Review Board show them), and trailing whitespace a change adds."""

from __future__ import annotations

import difflib
import re

from django.utils.safestring import SafeString

from reviews.diffs.model import Row

_EMPHASIS_MAX_CHARS = 400
_WORDS_OR_PUNCT = re.compile(r"\w+|\s+|[^\w\s]")
_HTML_PIECES = re.compile(r"<[^>]*>|&[#\w]+;|[^<&]+")


def emphasise_changes(rows: list[Row], texts: list[str]) -> None:
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


def mark_trailing_whitespace(rows: list[Row], texts: list[str]) -> None:
    """Trailing whitespace a change adds is noise a reviewer wants to see."""
    for row, text in zip(rows, texts, strict=True):
        body = text.rstrip("\r\n")
        if row.kind == "add" and body != body.rstrip(" \t"):
            row.html = _mark_ranges(row.html, body, [(len(body.rstrip(" \t")), len(body))], "tw")
