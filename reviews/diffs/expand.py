"""Context expansion: the unchanged lines between hunks, fetched when a reviewer asks for them."""

from __future__ import annotations

from django.utils.safestring import SafeString

from reviews.diffs.highlight import highlight_needed, lexer_for, plain_line
from reviews.diffs.limits import DiffLimits
from reviews.diffs.model import Gap, Row
from reviews.diffs.outline import python_outline
from reviews.diffs.parse import delta_after, split_keepends

# The context-expansion endpoint returns at most this many lines per request.
EXPAND_MAX_LINES = 2_000


def context_rows(
    old_text: str, path: str, *, old_start: int, old_end: int, new_start: int
) -> list[Row]:
    """Unchanged lines old_start..old_end (inclusive) of the old file, highlighted in the
    context of the whole file."""
    source = split_keepends(old_text)
    old_start = max(1, old_start)
    old_end = min(old_end, old_start + EXPAND_MAX_LINES - 1, len(source))
    wanted = list(range(old_start, old_end + 1))
    lexer = lexer_for(path)
    if len(old_text) <= DiffLimits.current().highlight_max_bytes:
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
        delta = delta_after(hunk)
    if old_start > prev_old_end and (old_length is None or old_end <= old_length):
        return Gap(old_start, old_end, old_start + delta)
    return None


# --- interdiff --------------------------------------------------------------------------------
