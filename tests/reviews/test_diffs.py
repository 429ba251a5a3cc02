"""reviews.diffs: parsing and rendering a unified diff for the viewer (no database needed)."""

from __future__ import annotations

import difflib
import re

from pygments.lexers.python import PythonLexer

from reviews import diffs


def make_diff(path: str, old: str, new: str, *, n: int = 3) -> str:
    """A git-style diff of one file, built with difflib (keeps "\\r" and missing newlines)."""
    old_lines = diffs.split_keepends(old)
    new_lines = diffs.split_keepends(new)
    body = []
    for line in difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}", n=n):
        body.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return f"diff --git a/{path} b/{path}\n" + "".join(body)


def reader(files: dict[str, str]):
    return files.get


def rows_of(view: diffs.DiffView, file_index: int = 0) -> list[diffs.Row]:
    return [row for hunk in view.files[file_index].hunks for row in hunk.rows]


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("&quot;", '"').replace("&#39;", "'")


LONG_STRING_OLD = '''import re

HELP = """Usage: tool [options]

  --fast   go fast
  --slow   go slow
"""


def parse(text):
    return re.match(r"\\d+", text)
'''


def test_line_inside_multiline_string_is_coloured_as_string():
    """A hunk that starts inside a triple-quoted string still colours the string's lines."""
    new = LONG_STRING_OLD.replace("  --slow   go slow", "  --slow   go slower")
    view = diffs.render_diff(
        make_diff("tool.py", LONG_STRING_OLD, new, n=1),
        read_old=reader({"tool.py": LONG_STRING_OLD}),
    )
    file = view.files[0]
    assert file.highlight == "file"
    added = [r for r in rows_of(view) if r.kind == "add"]
    assert len(added) == 1
    # Whole-file lexing knows this line is inside HELP's string; a per-line lexer would not.
    assert 'class="s2"' in added[0].html or 'class="sd"' in added[0].html
    assert "go slower" in text_of(added[0].html)


def test_without_base_file_each_hunk_is_still_highlighted():
    new = LONG_STRING_OLD.replace("re.match", "re.fullmatch")
    view = diffs.render_diff(make_diff("tool.py", LONG_STRING_OLD, new))
    assert view.files[0].highlight == "hunks"
    added = [r for r in rows_of(view) if r.kind == "add"][0]
    assert '<span class="n">re</span>' in added.html


def test_line_numbers_and_counts():
    old = "".join(f"line{i} = {i}\n" for i in range(1, 26))
    new = old.replace("line5 = 5\n", "line5 = 50\nline5b = 51\n").replace("line18 = 18\n", "")
    view = diffs.render_diff(make_diff("nums.py", old, new), read_old=reader({"nums.py": old}))
    file = view.files[0]
    assert (file.added, file.removed) == (2, 2)
    assert (view.added, view.removed) == (2, 2)
    rows = rows_of(view)
    added = [(r.old_no, r.new_no, text_of(r.html)) for r in rows if r.kind == "add"]
    assert added == [(None, 5, "line5 = 50"), (None, 6, "line5b = 51")]
    removed = [(r.old_no, r.new_no) for r in rows if r.kind == "del"]
    assert removed == [(5, None), (18, None)]
    context = [(r.old_no, r.new_no) for r in rows if r.kind == "ctx"]
    assert (8, 9) in context and (17, 18) in context
    # The unchanged lines around the hunks are offered for expansion, numbered on both sides.
    first, second = file.hunks
    assert first.gap_before == diffs.Gap(1, 1, 1)
    assert second.gap_before == diffs.Gap(9, 14, 10)
    assert file.gap_after == diffs.Gap(22, 25, 22)


CLASSY = """class Cart:
    def total(self, items):
        result = 0
        for item in items:
            result += item.price
        return result

    def count(self, items):
        return len(items)


def helper():
    return 1
"""


def test_hunk_headers_name_the_enclosing_function():
    new = CLASSY.replace("result += item.price", "result += item.price * item.qty")
    new = new.replace("    return 1\n", "    return 2\n")
    view = diffs.render_diff(
        make_diff("cart.py", CLASSY, new, n=1), read_old=reader({"cart.py": CLASSY})
    )
    functions = [h.function for h in view.files[0].hunks]
    assert functions == ["def Cart.total", "def helper"]


def test_hunk_header_falls_back_to_git_section_header():
    diff = (
        "diff --git a/notes.txt b/notes.txt\n--- a/notes.txt\n+++ b/notes.txt\n"
        "@@ -10,1 +10,1 @@ Chapter two\n-old\n+new\n"
    )
    view = diffs.render_diff(diff)
    assert view.files[0].hunks[0].function == "Chapter two"


def test_binary_rename_and_mode_changes_are_described():
    diff = (
        "diff --git a/logo.png b/logo.png\nindex 1111111..2222222 100644\n"
        "Binary files a/logo.png and b/logo.png differ\n"
        "diff --git a/old_name.py b/new_name.py\nsimilarity index 100%\n"
        "rename from old_name.py\nrename to new_name.py\n"
        "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    )
    view = diffs.render_diff(diff)
    binary, renamed, mode = view.files
    assert binary.is_binary and "Binary file" in binary.notices[0]
    assert renamed.status == "renamed"
    assert (renamed.old_path, renamed.new_path) == ("old_name.py", "new_name.py")
    assert "Renamed without changes." in renamed.notices
    assert mode.mode_change == "mode 100644 → 100755"


def test_rename_with_changes_keeps_both_names_and_reads_the_old_path():
    old = "a = 1\nb = 2\n"
    diff = (
        "diff --git a/pkg/old.py b/pkg/new.py\nsimilarity index 60%\n"
        "rename from pkg/old.py\nrename to pkg/new.py\n"
        "--- a/pkg/old.py\n+++ b/pkg/new.py\n@@ -1,2 +1,2 @@\n a = 1\n-b = 2\n+b = 3\n"
    )
    view = diffs.render_diff(diff, read_old=reader({"pkg/old.py": old}))
    file = view.files[0]
    assert file.is_rename and file.old_path == "pkg/old.py" and file.path == "pkg/new.py"
    assert file.highlight == "file"


def test_no_newline_at_end_of_file():
    old = "x = 1\ny = 2"
    new = "x = 1\ny = 3"
    view = diffs.render_diff(make_diff("eof.py", old, new), read_old=reader({"eof.py": old}))
    rows = rows_of(view)
    notes = [r for r in rows if r.kind == "note"]
    assert len(notes) == 2
    assert all("No newline at end of file" in r.html for r in notes)
    assert [text_of(r.html) for r in rows if r.kind == "add"] == ["y = 3"]
    assert view.files[0].highlight == "file"  # the hunks applied to the base exactly


def test_carriage_return_inside_a_line_does_not_split_it(tmp_path):
    old = 'a = 1\nb = "x\ry"\nc = 3\n'
    new = 'a = 1\nb = "x\rz"\nc = 3\n'
    diff_file = tmp_path / "cr.diff"
    diff_file.write_text(make_diff("cr.py", old, new), newline="")
    with open(diff_file, newline="") as handle:  # newline="" keeps the "\r" inside the line
        text = handle.read()
    view = diffs.render_diff(text, read_old=reader({"cr.py": old}))
    rows = rows_of(view)
    assert [(r.kind, r.old_no, r.new_no) for r in rows] == [
        ("ctx", 1, 1),
        ("del", 2, None),
        ("add", None, 2),
        ("ctx", 3, 3),
    ]
    added = rows[2]
    assert "␍" in added.html and "z" in text_of(added.html)


def test_crlf_file_keeps_its_line_numbers():
    old = "a = 1\r\nb = 2\r\nc = 3\r\n"
    new = "a = 1\r\nb = 20\r\nc = 3\r\n"
    view = diffs.render_diff(make_diff("win.py", old, new), read_old=reader({"win.py": old}))
    assert view.files[0].highlight == "file"
    assert [(r.kind, r.old_no, r.new_no) for r in rows_of(view)][1:3] == [
        ("del", 2, None),
        ("add", None, 2),
    ]


def test_diff_that_does_not_match_the_base_says_so():
    base = "a = 1\nb = 2\nc = 3\n"
    diff = make_diff("m.py", "a = 1\nb = 5\nc = 3\n", "a = 1\nb = 6\nc = 3\n")
    view = diffs.render_diff(diff, read_old=reader({"m.py": base}))
    file = view.files[0]
    assert file.highlight == "hunks"
    assert any("does not match" in notice for notice in file.notices)
    assert not file.expandable


def test_oversized_file_is_shown_without_highlighting(settings):
    settings.WATTSON_DIFF_HIGHLIGHT_MAX_LINES = 10
    old = "".join(f"v{i} = {i}\n" for i in range(30))
    new = "".join(f"v{i} = {i * 2}\n" for i in range(30))
    view = diffs.render_diff(make_diff("big.py", old, new), read_old=reader({"big.py": old}))
    file = view.files[0]
    assert file.highlight == "off"
    assert any("highlighting is off" in notice for notice in file.notices)
    # No token colours; only the changed-word marks remain.
    assert all(not re.search(r'<span class="(?!x")', r.html) for r in rows_of(view))


def test_very_long_file_is_collapsed_and_huge_one_not_rendered(settings):
    settings.WATTSON_DIFF_COLLAPSE_LINES = 20
    old = "".join(f"v{i} = {i}\n" for i in range(30))
    new = "".join(f"v{i} = {i * 2}\n" for i in range(30))
    diff = make_diff("big.py", old, new)
    assert diffs.render_diff(diff).files[0].collapsed
    settings.WATTSON_DIFF_FILE_MAX_LINES = 40
    file = diffs.render_diff(diff).files[0]
    assert file.too_large and not file.hunks
    assert "too many to show" in file.notices[0]


def test_diff_past_the_size_limit_is_refused(settings):
    settings.WATTSON_DIFF_MAX_BYTES = 100
    view = diffs.render_diff(make_diff("x.py", "a\n" * 50, "b\n" * 50))
    assert not view.files and "too large" in view.error


def test_unparseable_diff_is_an_error_not_a_crash():
    view = diffs.render_diff("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n-only one\n")
    assert not view.files and "could not be parsed" in view.error


def test_bidi_zero_width_and_format_characters_are_flagged_on_their_line():
    old = "def check(user):\n    return True\n"
    new = (
        "def check(user):\n"
        '    access = "user\u202e \u2066# admin\u2069 \u2066"  # Trojan Source\n'
        "    ok\u200b = True\n"
        "    flag\u2064 = 1\n"
        "    return True\n"
    )
    view = diffs.render_diff(make_diff("auth.py", old, new), read_old=reader({"auth.py": old}))
    warnings = {(w.line, w.message.split(" (")[0]) for w in view.warnings}
    assert (2, "U+202E RIGHT-TO-LEFT OVERRIDE") in warnings
    assert (2, "U+2066 LEFT-TO-RIGHT ISOLATE") in warnings
    assert (3, "U+200B ZERO WIDTH SPACE") in warnings
    assert (4, "U+2064 INVISIBLE PLUS") in warnings
    rows = {r.new_no: r for r in rows_of(view) if r.kind == "add"}
    assert rows[2].warnings and rows[3].warnings and rows[4].warnings
    # The characters are shown as visible markers, never emitted raw into the page.
    assert "\u202e" not in rows[2].html and "&lt;U+202E&gt;" in rows[2].html
    assert "\u200b" not in rows[3].html and "&lt;U+200B&gt;" in rows[3].html
    assert view.files[0].warnings[0].anchor == "f0-n2"


def test_lookalike_identifier_is_flagged_but_plain_unicode_text_is_not():
    old = "def login(password):\n    return password\n"
    new = (
        "def login(password):\n"
        "    greeting = 'héllo wörld'  # café\n"
        "    return pаssword\n"  # Cyrillic а
    )
    view = diffs.render_diff(make_diff("login.py", old, new), read_old=reader({"login.py": old}))
    assert [w.line for w in view.warnings] == [3]
    assert "pаssword" in view.warnings[0].message
    assert "CYRILLIC SMALL LETTER A" in view.warnings[0].message


def test_removed_lines_with_invisible_characters_are_not_warnings():
    old = "x = 'a\u200bb'\n"
    new = "x = 'ab'\n"
    view = diffs.render_diff(make_diff("z.py", old, new), read_old=reader({"z.py": old}))
    assert view.warnings == []


def test_lexer_is_chosen_by_file_name():
    assert diffs.lexer_for("pkg/mod.py").name == "Python"
    assert diffs.lexer_for("web/app.js").name == "JavaScript"
    assert diffs.lexer_for("NOTES.unknownext").name == "Text only"


def test_git_quoted_paths_are_unquoted():
    assert diffs.unquote_git_path('"a/caf\\303\\251.py"') == "café.py"
    assert diffs.unquote_git_path('"b/quote\\"d.py"') == 'quote"d.py'
    assert diffs.unquote_git_path("/dev/null") == ""


def test_context_rows_are_highlighted_in_the_whole_file():
    rows = diffs.context_rows(LONG_STRING_OLD, "tool.py", old_start=5, old_end=6, new_start=7)
    assert [(r.old_no, r.new_no) for r in rows] == [(5, 7), (6, 8)]
    assert all('class="s2"' in r.html or 'class="sd"' in r.html for r in rows)


def test_find_gap_refuses_ranges_that_touch_a_hunk():
    old = "".join(f"l{i}\n" for i in range(1, 31))
    new = old.replace("l15\n", "l15 changed\n")
    pfile = diffs.parse(make_diff("g.txt", old, new))[0]
    assert diffs.find_gap(pfile, old_length=30, old_start=1, old_end=11) == diffs.Gap(1, 11, 1)
    assert diffs.find_gap(pfile, old_length=30, old_start=10, old_end=13) is None
    assert diffs.find_gap(pfile, old_length=30, old_start=19, old_end=30) == diffs.Gap(19, 30, 19)
    assert diffs.find_gap(pfile, old_length=30, old_start=25, old_end=31) is None


def test_interdiff_compares_the_files_two_revisions_produce():
    base = {"calc.py": "def f(x):\n    return x + 1\n\n\ndef g():\n    return 0\n"}
    rev1 = make_diff("calc.py", base["calc.py"], base["calc.py"].replace("x + 1", "x + 2"))
    rev2 = make_diff(
        "calc.py",
        base["calc.py"],
        base["calc.py"].replace("x + 1", "x + 2").replace("return 0", "return None"),
    )
    older = diffs.patched_files(rev1, base.get)
    newer = diffs.patched_files(rev2, base.get)
    text = diffs.interdiff(older, newer, base.get)
    view = diffs.render_diff(text, read_old=older.get, read_new=newer.get)
    rows = rows_of(view)
    # Only what changed between the revisions: the shared "x + 2" edit is not in it.
    assert [text_of(r.html) for r in rows if r.kind == "add"] == ["    return None"]
    assert [text_of(r.html) for r in rows if r.kind == "del"] == ["    return 0"]
    assert diffs.interdiff(older, older, base.get) == ""


def test_lexing_from_statement_starts_colours_exactly_like_the_whole_file():
    """The viewer lexes only the statements around shown lines; on real modules with
    docstrings, decorators and nested classes that must change no line's colours."""
    import argparse
    import difflib as difflib_module
    import random
    import textwrap

    rng = random.Random(7)
    lexer = diffs.lexer_for("m.py")
    for module in (argparse, difflib_module, textwrap):
        with open(module.__file__, encoding="utf-8", newline="") as handle:
            text = handle.read()
        whole, _ = diffs.highlight_lines(text, lexer)
        _scopes, restarts = diffs.python_outline(text)
        assert len(restarts) > 50
        needed = sorted(rng.sample(range(1, len(whole) + 1), 40))
        partial, _ = diffs.highlight_needed(text, lexer, needed, restarts)
        assert {n: partial[n] for n in needed} == {n: whole[n - 1] for n in needed}


def test_an_added_line_that_opens_a_string_recolours_the_lines_after_it():
    old = "def f():\n    a = 1\n    b = 2\n    c = 3\n    return a\n"
    new = 'def f():\n    a = """\n    b = 2\n    c = 3\n    """\n    return a\n'
    view = diffs.render_diff(make_diff("s.py", old, new), read_old=reader({"s.py": old}))
    context = {r.new_no: r.html for r in rows_of(view) if r.kind == "ctx"}
    assert 'class="s2"' in context[3] and 'class="s2"' in context[4]
    assert '<span class="k">return</span>' in context[6]


def test_files_past_the_page_budget_are_only_described(settings):
    settings.WATTSON_DIFF_PAGE_MAX_LINES = 12
    one = make_diff("a.py", "a = 1\nb = 2\n", "a = 1\nb = 3\n")
    two = make_diff("b.py", "".join(f"x{i}\n" for i in range(10)), "y\n")
    view = diffs.render_diff(one + two)
    first, second = view.files
    assert first.hunks and not first.too_large
    assert second.too_large and not second.hunks
    assert "Not shown" in second.notices[0] and second.removed == 10


def test_changed_words_inside_a_modified_line_are_marked():
    old = 'def f(item):\n    return re.match(r"\\d+", item.sku)\n'
    new = "def f(item):\n    return SKU_RE.match(item.sku)\n"
    view = diffs.render_diff(make_diff("w.py", old, new), read_old=reader({"w.py": old}))
    rows = rows_of(view)
    removed = next(r for r in rows if r.kind == "del")
    added = next(r for r in rows if r.kind == "add")
    assert '<span class="x">SKU_RE</span>' in added.html
    assert '<span class="x">re</span>' in removed.html
    # Marks sit inside Pygments' spans: the visible text is unchanged.
    assert text_of(added.html) == "    return SKU_RE.match(item.sku)"
    assert text_of(removed.html) == '    return re.match(r"\\d+", item.sku)'
    assert added.html.count("<span") == added.html.count("</span>")


def test_unrelated_replacement_lines_get_no_word_marks():
    old = "x = compute_total(items)\n"
    new = "logger.info('done')\n"
    view = diffs.render_diff(make_diff("u.py", old, new), read_old=reader({"u.py": old}))
    assert all('class="x"' not in r.html for r in rows_of(view))


def test_zero_context_insertions_and_deletions_number_the_gaps_right():
    old = "".join(f"l{i}\n" for i in range(1, 11))
    new = old.replace("l5\n", "l5\nnew a\nnew b\n").replace("l8\nl9\n", "")
    view = diffs.render_diff(make_diff("z.txt", old, new, n=0), read_old=reader({"z.txt": old}))
    file = view.files[0]
    insert, delete = file.hunks
    assert insert.header == "@@ -5,0 +6,2 @@" and delete.header == "@@ -8,2 +9,0 @@"
    assert insert.gap_before == diffs.Gap(1, 5, 1)
    # Old lines 6-7 are new lines 8-9: two lines were inserted above them.
    assert delete.gap_before == diffs.Gap(6, 7, 8)
    # Old line 10 follows the deletion of 8-9: new line 10 (+2 -2).
    assert file.gap_after == diffs.Gap(10, 10, 10)
    pfile = diffs.parse(make_diff("z.txt", old, new, n=0))[0]
    assert diffs.find_gap(pfile, old_length=10, old_start=6, old_end=7) == diffs.Gap(6, 7, 8)
    rows = diffs.context_rows(old, "z.txt", old_start=6, old_end=7, new_start=8)
    assert [(r.old_no, r.new_no, r.html) for r in rows] == [(6, 8, "l6"), (7, 9, "l7")]


def test_a_file_the_highlighter_fails_on_is_shown_plain(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("lexer bug")

    # Pygments is the outside system here: its Python lexer fails on this file.
    monkeypatch.setattr(PythonLexer, "get_tokens_unprocessed", broken)
    old = "a = 1\n"
    view = diffs.render_diff(make_diff("a.py", old, "a = 2\n"), read_old=reader({"a.py": old}))
    file = view.files[0]
    assert "could not be highlighted (RuntimeError)" in file.notices[0]
    assert [text_of(r.html) for r in rows_of(view) if r.kind == "add"] == ["a = 2"]


def test_trailing_whitespace_on_added_lines_is_marked():
    old = "a = 1\n"
    new = "a = 1  \nb = 2\t\n"
    view = diffs.render_diff(make_diff("t.py", old, new), read_old=reader({"t.py": old}))
    added = [r for r in rows_of(view) if r.kind == "add"]
    assert all('<span class="tw">' in r.html for r in added)
    assert text_of(added[1].html) == "b = 2\t"


def test_huge_hunk_without_the_repository_is_not_lexed(settings):
    settings.WATTSON_DIFF_HIGHLIGHT_MAX_BYTES = 1000
    minified = "var a=" + "1+" * 2000 + "1;\n"
    view = diffs.render_diff(make_diff("app.min.js", "var a=1;\n", minified))
    assert view.files[0].highlight == "off"
