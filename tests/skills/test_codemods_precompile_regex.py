"""precompile-regex: constant patterns move to module-level compiled patterns; the rest refuses."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour

SAMPLES = ["ab-123", "AB-123-x9", "nope", "", "abc - 12345 - zz", "a1 b2 c3"]


def test_inline_verbose_pattern_with_flags_becomes_a_compiled_constant():
    source = '''
    import re


    def parse(raw):
        match = re.fullmatch(
            r"""
            ([a-z]{2,4}) \\s* - \\s*   # family
            (\\d{3,6})                 # number
            """,
            raw.strip(),
            re.IGNORECASE | re.VERBOSE,
        )
        return match and match.groups()
    '''
    result = apply("precompile-regex", source, "parse")
    assert "_PARSE_RE = re.compile(" in result.new_source
    assert "    re.IGNORECASE | re.VERBOSE,\n)" in result.new_source
    assert "    match = _PARSE_RE.fullmatch(raw.strip())\n" in result.new_source
    assert "re.fullmatch" not in result.new_source
    assert (result.first_line, result.last_line) == (5, 12)
    assert_same_behaviour(source, result.new_source, "parse", SAMPLES)


def test_aliased_module_positional_flags_and_sub_count_keep_their_order():
    source = """
    import re as _re


    def clean(text):
        text = _re.sub(r"\\s+", " ", text, 2, _re.I)
        return _re.split(r"[,;]", text, 1)
    """
    result = apply("precompile-regex", source, "clean")
    new = result.new_source
    assert '_CLEAN_RE = _re.compile(r"\\s+", _re.I)' in new
    assert '_CLEAN_RE_2 = _re.compile(r"[,;]")' in new
    assert 'text = _CLEAN_RE.sub(" ", text, 2)' in new
    assert "return _CLEAN_RE_2.split(text, 1)" in new
    assert_same_behaviour(source, new, "clean", ["a  b   c    d, e; f", "x", "1 ,2 ,3;4"])


def test_from_import_functions_get_an_import_re_and_keyword_arguments_survive():
    source = '''
    """Doc."""
    from re import findall, IGNORECASE


    class Tokens:
        @staticmethod
        def words(text):
            return findall(pattern=r"[a-z]+", string=text, flags=IGNORECASE)
    '''
    result = apply("precompile-regex", source, "Tokens.words")
    new = result.new_source
    assert new.startswith('"""Doc."""\nimport re\nfrom re import findall, IGNORECASE\n')
    assert '_WORDS_RE = re.compile(r"[a-z]+", IGNORECASE)' in new
    assert "return _WORDS_RE.findall(string=text)" in new
    assert_same_behaviour(source, new, "Tokens.words", ["Hello World 42 x", ""])


def test_a_module_constant_pattern_is_compiled_after_it_and_reused():
    source = """
    import re

    SKU = r"[A-Z]{2}-\\d+"


    def skus(lines):
        found = []
        for line in lines:
            if re.search(SKU, line):
                found.extend(re.findall(SKU, line))
        return found
    """
    result = apply("precompile-regex", source, "skus")
    new = result.new_source
    assert new.count("re.compile(") == 1
    assert "_SKU_RE = re.compile(SKU)" in new
    assert new.index("SKU = r") < new.index("_SKU_RE =") < new.index("def skus")
    assert "_SKU_RE.search(line)" in new and "_SKU_RE.findall(line)" in new
    assert_same_behaviour(source, new, "skus", [(["AB-1 CD-22", "none", "EF-3"],)])


def test_nested_calls_are_both_rewritten():
    source = """
    import re


    def squash(text):
        return re.sub(r"-+", "-", re.sub(r"\\s+", "-", text.strip()))
    """
    result = apply("precompile-regex", source, "squash")
    new = result.new_source
    assert 'return _SQUASH_RE.sub("-", _SQUASH_RE_2.sub("-", text.strip()))' in new
    assert_same_behaviour(source, new, "squash", ["a  b -- c", " x ", ""])


def test_a_pattern_built_at_run_time_is_refused():
    source = """
    import re


    def has_prefix(prefix, text):
        return re.match(prefix + r"\\d+", text) is not None
    """
    with pytest.raises(CodemodRefused, match="not a constant"):
        apply("precompile-regex", source, "has_prefix")


def test_a_pattern_that_does_not_compile_is_refused():
    source = """
    import re


    def safe(text):
        try:
            return re.match(r"(unclosed", text)
        except re.error:
            return None
    """
    with pytest.raises(CodemodRefused, match="does not compile"):
        apply("precompile-regex", source, "safe")


def test_a_reassigned_global_pattern_is_refused():
    source = """
    import re

    PATTERN = r"a+"


    def configure(p):
        global PATTERN
        PATTERN = p


    def matches(text):
        return bool(re.search(PATTERN, text))
    """
    with pytest.raises(CodemodRefused, match="not a constant"):
        apply("precompile-regex", source, "matches")


def test_a_function_without_re_calls_is_refused():
    with pytest.raises(CodemodRefused, match="no re"):
        apply("precompile-regex", "def f(x):\n    return x.split()\n", "f")


def test_an_unknown_function_is_refused():
    with pytest.raises(CodemodRefused, match="not defined"):
        apply("precompile-regex", "import re\n", "missing")
