"""string-join: accumulators become a list joined once; reads inside the loop refuse."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour

ENCODE = """
import struct


def encode(samples):
    body = b""
    count = 0
    for name, value in samples:
        if value < 0:
            continue
        body += struct.pack("<d", value) + name.encode()
        count += 1
    return struct.pack("<I", count) + body + struct.pack("<I", len(body))
"""


def test_bytes_accumulator_becomes_a_bytes_join():
    result = apply("string-join", ENCODE, "encode")
    new = result.new_source
    assert "    body_parts = []\n    count = 0\n" in new
    assert '        body_parts.append(struct.pack("<d", value) + name.encode())\n' in new
    assert '        count += 1\n    body = b"".join(body_parts)\n    return' in new
    assert (result.first_line, result.last_line) == (5, 11)
    assert_same_behaviour(ENCODE, new, "encode", [([("a", 1.0), ("b", -1.0), ("c", 2.5)],), ([],)])


def test_initial_value_nested_loops_and_the_assign_form():
    source = """
    class Report:
        def render(self, rows):
            lines = []
            for row in rows:
                text = "| "
                for cell in row:
                    if cell is None:
                        continue
                    text = text + str(cell) + " | "
                lines.append(text)
            return lines
    """
    result = apply("string-join", source, "Report.render")
    new = result.new_source
    assert '            text_parts = ["| "]\n' in new
    assert '                text_parts.append(str(cell) + " | ")\n' in new
    assert '            text = "".join(text_parts)\n            lines.append(text)' in new
    from tests.skills.codemod_support import dedent, load

    old, fresh = load(dedent(source)), load(new)
    rows = [[1, None, "x"], [], [2.5]]
    assert fresh.Report().render(rows) == old.Report().render(rows)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "def f(xs):\n    s = ''\n    for x in xs:\n        s += x\n"
            "        if len(s) > 10:\n            break\n    return s\n",
            "read inside the loop",
        ),
        (
            "def f(xs, sink):\n    s = ''\n    for x in xs:\n        s += x\n        sink(s)\n",
            "read inside the loop",
        ),
        (
            "def f(xs, start):\n    s = start\n    for x in xs:\n        s += x\n    return s\n",
            "cannot tell",
        ),
        (
            "def f(xs):\n    s = ''\n    for x in xs:\n        s += s + x\n    return s\n",
            "reads s",
        ),
        ("def f(xs):\n    n = 0\n    for x in xs:\n        n += x\n    return n\n", "no `s"),
    ],
)
def test_unsafe_accumulators_are_refused(source, reason):
    with pytest.raises(CodemodRefused, match=reason):
        apply("string-join", source, "f")


def test_str_call_initial_value_and_an_else_clause_that_reads_it():
    source = """
    def csv_line(cells):
        line = str()
        for cell in cells:
            line += f"{cell},"
        return line[:-1]
    """
    result = apply("string-join", source, "csv_line")
    assert "    line_parts = []\n" in result.new_source
    assert '    line = "".join(line_parts)\n    return line[:-1]' in result.new_source
    assert_same_behaviour(source, result.new_source, "csv_line", [(["a", 1, 2.5],), ([],)])
    with_else = (
        "def f(xs):\n    s = ''\n    for x in xs:\n        s += x\n    else:\n"
        "        print(s)\n    return s\n"
    )
    with pytest.raises(CodemodRefused, match="else"):
        apply("string-join", with_else, "f")


@pytest.mark.parametrize(
    ("init", "joiner"),
    [
        ('"<{}>".format(tag)', '""'),
        ('", ".join(head)', '""'),
        ('"%s: " % tag', '""'),
        ('str(tag, "ascii")', '""'),
        ('"-".encode()', 'b""'),
    ],
)
def test_the_kind_is_inferred_from_an_initial_value_that_is_exactly_str_or_bytes(init, joiner):
    piece = 'b"." + item' if joiner == 'b""' else '"." + item'
    tag = 'b"t"' if init.startswith("str(") else '"t"'
    source = (
        "def render(tag, head, items):\n"
        f"    text = {init}\n"
        "    for item in items:\n"
        f"        text += {piece}\n"
        "    return text\n"
    )
    result = apply("string-join", source, "render")
    assert f"    text = {joiner}.join(text_parts)\n    return text\n" in result.new_source
    items = [b"a", b"b"] if joiner == 'b""' else ["a", "b"]
    assert_same_behaviour(
        source, result.new_source, "render", [(eval(tag), ["x", "y"], items), (eval(tag), [], [])]
    )


def test_an_initial_value_of_unknown_type_is_refused_naming_subclasses():
    # A str subclass (markupsafe.Markup escapes what is added to it) defines + its own way.
    source = """
    def render(start, items):
        text = start
        for item in items:
            text += "<" + item + ">"
        return text
    """
    with pytest.raises(CodemodRefused, match="exactly a str or bytes .*Markup"):
        apply("string-join", source, "render")


@pytest.mark.parametrize(
    "piece", ["1", "len(chunk)", "match.end(0)", "-step * 2", "int(chunk) + 1"]
)
def test_a_counter_or_offset_grown_with_numbers_is_not_text(piece):
    # Python-Markdown's `startIndex += match.end(0)`, `index += 1`: not an accumulator of text.
    source = (
        "def scan(index, chunks, match, step):\n"
        "    for chunk in chunks:\n"
        f"        index += {piece}\n"
        "    return index\n"
    )
    with pytest.raises(CodemodRefused, match=r"has no `s \+= piece` on a local inside a loop"):
        apply("string-join", source, "scan")
