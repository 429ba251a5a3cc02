"""What a reviewer cannot see: bidi controls, zero-width and other format characters, and
identifiers with look-alike letters from another script (Trojan Source)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.utils.html import escape

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
ZERO_WIDTH = set("\u200b\u200c\u200d\u2060\ufeff")
# A word that could be an identifier: a letter or underscore, then word characters.
WORD = re.compile(r"[^\W\d]\w*")


def char_label(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def is_invisible(char: str) -> bool:
    return char in BIDI or char in ZERO_WIDTH or unicodedata.category(char) == "Cf"


def mark_invisibles(line_html: str) -> str:
    """Make format/bidi characters visible: as raw text they reorder or hide code (Trojan Source).

    Pygments never puts such characters in its tags, so replacing them in the HTML is safe.
    """
    if line_html.isascii():
        return line_html
    out = []
    for char in line_html:
        if char == "\u240d":
            out.append('<span class="uc cr" title="carriage return">␍</span>')
        elif ord(char) > 127 and is_invisible(char):
            label = escape(char_label(char))
            out.append(f'<span class="uc" title="{label}">&lt;U+{ord(char):04X}&gt;</span>')
        else:
            out.append(char)
    return "".join(out)


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
        if char in BIDI:
            kind = "bidirectional control"
        elif char in ZERO_WIDTH:
            kind = "zero-width character"
        elif unicodedata.category(char) == "Cf":
            kind = "invisible format character"
        else:
            continue
        seen.add(char)
        found.append(f"{char_label(char)} ({kind}) at column {column}")
    names = set(identifiers)
    for word in WORD.findall(text):
        if word.isascii() or word in seen:
            continue
        # Letters from two scripts in one word ("pаssword" with a Cyrillic а, or a fullwidth
        # letter) are look-alikes wherever they are; a non-ASCII name the lexer saw as an
        # identifier is worth a look too. Accented words in strings and comments are not.
        if len(_scripts(word)) > 1 or word in names:
            seen.add(word)
            others = ", ".join(
                f"{c} {char_label(c)}" for c in dict.fromkeys(word) if not c.isascii()
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
