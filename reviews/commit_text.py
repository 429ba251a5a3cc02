"""Markdown rationale to the plain text of a git commit message (subject ≤ 72, body at 72).

A proposal's rationale is Markdown (the page renders it); `git log` shows text as it is, so
`## Why`, `**bold**` and backticks would reach the history raw. markdown-it parses the text and
this module writes back what a person would have typed: paragraphs wrapped at 72 columns,
lists with `-` or `1.`, code blocks indented by four spaces and never wrapped, links as
"text (url)".
"""

from __future__ import annotations

import textwrap

from markdown_it import MarkdownIt
from markdown_it.token import Token

SUBJECT_MAX = 72
BODY_WIDTH = 72

# Raw HTML is kept as the text it is, not interpreted.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def _inline_text(token: Token) -> str:
    out: list[str] = []
    hrefs: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline", "html_inline"):
            out.append(child.content)
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "image":
            out.append(child.content)  # its alt text
        elif kind == "link_open":
            hrefs.append(str(child.attrGet("href") or ""))
            out.append("\0")  # where the link text starts
        elif kind == "link_close":
            href = hrefs.pop() if hrefs else ""
            start = len(out) - 1 - out[::-1].index("\0")
            label = "".join(out[start + 1 :])
            out[start:] = [
                label if not href or href in (label, f"mailto:{label}") else f"{label} ({href})"
            ]
    return "".join(out)


def _wrap(text: str, *, first: str, rest: str) -> str:
    lines = []
    for number, line in enumerate(text.split("\n")):
        lines.append(
            textwrap.fill(
                " ".join(line.split()),
                width=BODY_WIDTH,
                initial_indent=first if number == 0 else rest,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or (first if number == 0 else rest).rstrip()
        )
    return "\n".join(lines)


def markdown_to_text(markdown: str) -> str:
    """Markdown as plain text wrapped at 72 columns; blocks apart by a blank line."""
    blocks: list[str] = []
    numbers: list[int | None] = []  # per open list: the next item's number, None for bullets
    marker = ""  # what the next line of a new list item starts with
    quote = ""
    tight = False  # the paragraph being read is an item of a tight list
    after_item = False  # the last block was a list item
    for token in _MARKDOWN.parse(markdown.replace("\r\n", "\n")):
        kind = token.type
        indent = quote + "  " * max(len(numbers) - 1, 0)
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = token.attrGet("start") if kind == "ordered_list_open" else None
            numbers.append(None if kind == "bullet_list_open" else int(start or 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            numbers.pop()
            after_item = after_item and bool(numbers)
        elif kind == "list_item_open" and numbers:
            number = numbers[-1]
            marker = "- " if number is None else f"{number}. "
            if number is not None:
                numbers[-1] = number + 1
        elif kind == "blockquote_open":
            quote += "> "
        elif kind == "blockquote_close":
            quote = quote[:-2]
        elif kind == "paragraph_open":
            tight = token.hidden  # markdown-it hides the paragraphs of tight list items
        elif kind == "inline":
            text = _inline_text(token)
            if marker:
                block = _wrap(text, first=indent + marker, rest=indent + " " * len(marker))
            else:
                pad = indent + ("  " if numbers else "")
                block = _wrap(text, first=pad, rest=pad)
            if tight and after_item and blocks:
                blocks[-1] += "\n" + block  # a tight list's items on consecutive lines
            else:
                blocks.append(block)
            after_item, marker = bool(marker) or (tight and after_item), ""
        elif kind in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            pad = indent + "    "
            blocks.append("\n".join((pad + line).rstrip() for line in code.split("\n")))
            after_item = False
        elif kind == "html_block":
            blocks.append(_wrap(token.content.strip(), first=indent, rest=indent))
            after_item = False
    return "\n\n".join(blocks)


def subject_line(markdown_line: str) -> tuple[str, str]:
    """(subject of at most 72 characters, the whole line wrapped when it had to be cut, or "")."""
    text = " ".join(markdown_to_text(markdown_line).split())
    if len(text) <= SUBJECT_MAX:
        return text, ""
    cut = text[: SUBJECT_MAX - 3].rsplit(" ", 1)[0].rstrip(" ,;:.-") or text[: SUBJECT_MAX - 3]
    return cut + "...", _wrap(text, first="", rest="")
