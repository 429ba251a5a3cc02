"""The diff viewer as properties: any unified diff renders without an exception, and with the
base file at hand a file is highlighted whole even when it has CRLF, a "\\r" inside a line or
bytes that are not UTF-8 (decoded as git's output is: skills.gitio.decode_text)."""

from __future__ import annotations

import difflib
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviews import diffs
from skills.gitio import decode_text

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Lines as files hold them: code-ish text, "\r" anywhere, CRLF, non-UTF-8 bytes (decoded to
# U+FFFD), tabs, invisible characters, and now and then no newline at the end of the file.
_line_bytes = st.lists(
    st.sampled_from(
        [
            b"x = 1",
            b"def f():",
            b"    return x",
            b'"""doc',
            b"\r",
            b"\xe9",
            b"\xff\xfe",
            b"\t",
            b"# \xe2\x80\xae rtl",
            b"s = 'a\rb'",
            b"",
            b" ",
            b"\xc3\xa9",
            b"{",
            b"}",
        ]
    ),
    max_size=6,
).map(b"".join)
file_bytes = st.tuples(
    st.lists(st.tuples(_line_bytes, st.sampled_from([b"\n", b"\r\n"])), max_size=30),
    st.booleans(),
).map(lambda parts: b"".join(a + b for a, b in parts[0]) + (b"tail" if parts[1] else b""))


def unified(path: str, old: str, new: str, *, old_path: str | None = None, n: int = 3) -> str:
    """A git-style diff built with difflib, splitting lines on "\\n" only."""
    source = old_path or path
    body = []
    for line in difflib.unified_diff(
        diffs.split_keepends(old), diffs.split_keepends(new), f"a/{source}", f"b/{path}", n=n
    ):
        body.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    header = f"diff --git a/{source} b/{path}\n"
    if old_path and old_path != path:
        header += f"similarity index 90%\nrename from {old_path}\nrename to {path}\n"
    return header + "".join(body)


def _rows(view: diffs.DiffView) -> list[diffs.Row]:
    return [row for file in view.files for hunk in file.hunks for row in hunk.rows]


@PROPERTY_SETTINGS
@given(old=file_bytes, new=file_bytes, name=st.sampled_from(["m.py", "page.html", "x.c", "n"]))
def test_with_the_base_file_any_change_is_highlighted_whole_and_numbered_right(old, new, name):
    old_text, new_text = decode_text(old), decode_text(new)
    diff = unified(name, old_text, new_text)
    view = diffs.render_diff(diff, read_old={name: old_text}.get)
    if old_text == new_text:
        assert all(not file.hunks for file in view.files)
        return
    (file,) = view.files
    assert file.highlight == "file", file.notices
    new_lines = diffs.split_keepends(new_text)
    for row in _rows(view):
        if row.kind in ("add", "ctx"):
            shown = re.sub(r"<[^>]+>", "", row.html)
            # A row shows its own line: what the file has there, "\r" made visible.
            expected = new_lines[row.new_no - 1].removesuffix("\n")
            assert shown.count("␍") >= expected.count("\r")


_diff_lines = st.sampled_from(
    [
        "diff --git a/a.py b/a.py\n",
        "--- a/a.py\n",
        "+++ b/a.py\n",
        "@@ -1,3 +1,4 @@\n",
        "@@ -0,0 +1 @@\n",
        " context\n",
        "-old\n",
        "+new\n",
        "+with\rcr\n",
        " crlf\r\n",
        "\\ No newline at end of file\n",
        "Binary files a/b.png and b/b.png differ\n",
        "rename from a.py\n",
        "rename to b.py\n",
        "new file mode 120000\n",
        "old mode 100644\n",
        "new mode 100755\n",
        "--- /dev/null\n",
        "+++ /dev/null\n",
        '--- "a/caf\\303\\251.py"\n',
        "+\u202e\u2066evil\n",
        "@@ -5 +5 @@ def f():\n",
        "garbage\n",
        "\n",
        "+\xe9\ufffd\n",
    ]
)


@PROPERTY_SETTINGS
@given(
    lines=st.lists(_diff_lines, max_size=40),
    base=st.none() | st.text(max_size=200),
    highlight=st.booleans(),
)
def test_any_text_that_looks_like_a_diff_renders_without_an_exception(lines, base, highlight):
    text = "".join(lines)
    view = diffs.render_diff(
        text, read_old=(lambda path: base) if base is not None else None, highlight=highlight
    )
    assert view.error or all(file.path is not None for file in view.files)


@settings(max_examples=5, deadline=None, database=None)
@given(extra=st.integers(0, 50))
def test_a_huge_hunk_is_described_not_rendered(extra):
    old = "".join(f"v{i} = {i}\n" for i in range(12_000 + extra))
    new = old.replace("v1 = 1\n", "v1 = 2\n").replace("v11999 = 11999\n", "v11999 = 0\n")
    diff = unified("big.py", old, new, n=12_000)
    (file,) = diffs.render_diff(diff, read_old={"big.py": old}.get).files
    assert file.too_large and file.hunks == []


@PROPERTY_SETTINGS
@given(old=file_bytes, extra=_line_bytes)
def test_a_renamed_file_with_odd_bytes_keeps_its_highlighting(old, extra):
    old_text = decode_text(old)
    new_text = old_text + decode_text(extra) + "\n"
    view = diffs.render_diff(
        unified("new.py", old_text, new_text, old_path="old.py"), read_old={"old.py": old_text}.get
    )
    (file,) = view.files
    assert file.status == "renamed" and file.old_path == "old.py" and file.new_path == "new.py"
    assert file.highlight == "file", file.notices
