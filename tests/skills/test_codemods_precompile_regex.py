"""precompile-regex: constant patterns move to module-level compiled patterns; the rest refuses."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour, dedent, load

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


def test_a_from_import_of_match_is_compiled_with_an_added_import_re():
    source = """
    from re import match


    def leading_number(text):
        found = match(r"\\d+", text)
        return int(found.group()) if found else None
    """
    result = apply("precompile-regex", source, "leading_number")
    new = result.new_source
    assert new.startswith("import re\nfrom re import match\n")
    assert '_LEADING_NUMBER_RE = re.compile(r"\\d+")\n' in new
    assert "    found = _LEADING_NUMBER_RE.match(text)\n" in new
    assert_same_behaviour(source, new, "leading_number", ["42 apples", "none", ""])


def test_a_pattern_concatenated_from_module_constants_is_compiled_after_them():
    source = """
    import re

    FAMILY = r"[a-z]+"
    NUMBER = r"\\d+"


    def codes(text):
        return re.findall(FAMILY + "-" + NUMBER, text)
    """
    result = apply("precompile-regex", source, "codes")
    new = result.new_source
    assert '_CODES_RE = re.compile(FAMILY + "-" + NUMBER)\n' in new
    assert new.index("NUMBER = r") < new.index("_CODES_RE =") < new.index("def codes")
    assert "    return _CODES_RE.findall(text)\n" in new
    assert_same_behaviour(source, new, "codes", ["ab-12 cd-3 x-", ""])


def test_a_class_constant_read_through_self_is_compiled_after_the_class():
    source = """
    import re


    class Sku:
        PATTERN = r"([A-Z]{2})-(\\d+)"

        def parse(self, text):
            return re.findall(self.PATTERN, text)
    """
    result = apply("precompile-regex", source, "Sku.parse")
    new = result.new_source
    assert "        return _PATTERN_RE.findall(text)\n" in new
    assert new.endswith("\n\n\n_PATTERN_RE = re.compile(Sku.PATTERN)\n")
    old_sku, new_sku = load(dedent(source)).Sku(), load(new).Sku()
    assert (
        old_sku.parse("AB-1 cd-2 EF-33")
        == new_sku.parse("AB-1 cd-2 EF-33")
        == [
            ("AB", "1"),
            ("EF", "33"),
        ]
    )


def test_an_inline_compile_in_a_classmethod_under_an_aliased_import_becomes_the_constant():
    source = """
    import re as _re


    class Sku:
        @classmethod
        def valid(cls, codes):
            return [c for c in codes if _re.compile(r"[A-Z]{2}-\\d+").fullmatch(c)]
    """
    result = apply("precompile-regex", source, "Sku.valid")
    new = result.new_source
    assert '_VALID_RE = _re.compile(r"[A-Z]{2}-\\d+")\n' in new
    assert "return [c for c in codes if _VALID_RE.fullmatch(c)]" in new
    assert_same_behaviour(source, new, "Sku.valid", [(["AB-1", "ab-1", "CD-22x"],), ([],)])


def test_a_pattern_constant_rebound_elsewhere_in_the_repository_is_refused(tmp_path):
    source = """
    import re

    SKU = r"[A-Z]{2}-\\d+"


    def skus(text):
        return re.findall(SKU, text)
    """
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "setup.py").write_text("from pkg import mod\n\nmod.SKU = r'\\w+'\n")
    with pytest.raises(CodemodRefused, match=r"not a constant \(SKU is changed at pkg/setup.py:3"):
        apply("precompile-regex", source, "skus", repo_root=str(tmp_path))


def test_a_class_pattern_overridden_by_a_subclass_is_refused():
    source = """
    import re


    class Sku:
        PATTERN = r"[A-Z]{2}"

        def parse(self, text):
            return re.findall(self.PATTERN, text)


    class LongSku(Sku):
        PATTERN = r"[A-Z]{4}"
    """
    with pytest.raises(CodemodRefused, match="may be changed or overridden"):
        apply("precompile-regex", source, "Sku.parse")
