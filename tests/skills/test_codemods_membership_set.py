"""membership-set: `in` against constant lists becomes a frozenset lookup; mutable ones refuse."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour, dedent, load

TERMS = """
import re

STOPWORDS = ["a", "an", "and", "the", "of", "to"]


def terms(text, min_length=2):
    out = []
    for word in re.findall(r"[a-z]+", text.lower()):
        if len(word) < min_length or word in STOPWORDS:
            continue
        out.append(word)
    return out
"""


def test_a_module_constant_gets_a_frozenset_next_to_it():
    result = apply("membership-set", TERMS, "terms")
    new = result.new_source
    assert '"to"]\n_STOPWORDS_SET = frozenset(STOPWORDS)\n' in new
    assert "word in _STOPWORDS_SET:" in new
    assert "STOPWORDS = [" in new  # the list stays for other users
    assert (result.first_line, result.last_line) == (9, 9)
    assert_same_behaviour(TERMS, new, "terms", ["The art of the deal and a plan", ""])


def test_comprehensions_not_in_and_inline_literals():
    source = """
    BLOCKED = ("x", "y", "z")


    def keep(items):
        return [i for i in items if i not in BLOCKED and i not in ["q", "r", "s", "t"]]
    """
    result = apply("membership-set", source, "keep")
    new = result.new_source
    assert "_BLOCKED_SET = frozenset(BLOCKED)" in new
    assert 'i not in _BLOCKED_SET and i not in {"q", "r", "s", "t"}' in new
    assert_same_behaviour(source, new, "keep", [(["a", "x", "q", "b"],), ([],)])


def test_a_local_literal_list_gets_a_set_built_once():
    source = """
    class Filter:
        def run(self, words):
            allowed = ["red", "green", "blue", "cyan"]
            return [w for w in words if w in allowed]
    """
    result = apply("membership-set", source, "Filter.run")
    new = result.new_source
    assert (
        '        allowed = ["red", "green", "blue", "cyan"]\n'
        "        allowed_set = frozenset(allowed)\n"
    ) in new
    assert "if w in allowed_set]" in new


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "NAMES = ['a', 'b']\n\ndef add(n):\n    NAMES.append(n)\n\n"
            "def f(xs):\n    return [x for x in xs if x in NAMES]\n",
            "mutated",
        ),
        (
            "NAMES = ['a', 'b']\n\ndef grow(names):\n    names.extend('c')\n\ngrow(NAMES)\n\n"
            "def f(xs):\n    return [x for x in xs if x in NAMES]\n",
            "passed to grow",
        ),
        (
            "PAIRS = [[1, 2], [3, 4]]\n\ndef f(xs):\n    return [x for x in xs if x in PAIRS]\n",
            "not hashable constants",
        ),
        (
            "def f(xs, allowed):\n    return [x for x in xs if x in allowed]\n",
            "parameter",
        ),
        (
            "NAMES = {'a', 'b'}\n\ndef f(xs):\n    return [x for x in xs if x in NAMES]\n",
            "already a set",
        ),
        ("def f(xs):\n    return [x for x in xs if x > 1]\n", "no `in` test"),
    ],
)
def test_unsafe_or_inapplicable_collections_are_refused(source, reason):
    with pytest.raises(CodemodRefused, match=reason):
        apply("membership-set", source, "f")


def test_a_constant_tested_once_per_call_of_a_hot_function_is_converted_too():
    source = """
    VOWELS = ("a", "e", "i", "o", "u")


    def is_vowel(letter):
        return letter.lower() in VOWELS
    """
    result = apply("membership-set", source, "is_vowel")
    assert 'VOWELS = ("a", "e", "i", "o", "u")\n_VOWELS_SET = frozenset(VOWELS)\n' in (
        result.new_source
    )
    assert "return letter.lower() in _VOWELS_SET" in result.new_source
    assert_same_behaviour(source, result.new_source, "is_vowel", ["A", "b", "u", ""])


@pytest.mark.parametrize(
    ("decorator", "receiver", "signature"),
    [
        ("", "self", "self, xs"),
        ("@classmethod\n    ", "cls", "cls, xs"),
        ("@staticmethod\n    ", "Palette", "xs"),
    ],
)
def test_a_class_constant_gets_a_frozenset_class_attribute_read_the_same_way(
    decorator, receiver, signature
):
    source = f"""
class Palette:
    PRIMARY = ("red", "green", "blue", "cyan")

    {decorator}def pick({signature}):
        return [x for x in xs if x in {receiver}.PRIMARY]
"""
    result = apply("membership-set", source, "Palette.pick")
    new = result.new_source
    assert (
        '    PRIMARY = ("red", "green", "blue", "cyan")\n    _PRIMARY_SET = frozenset(PRIMARY)\n'
    ) in new
    assert f"if x in {receiver}._PRIMARY_SET]" in new
    calls = [(["red", "pink", "cyan"],), ([],)]
    if receiver == "self":
        old, fresh = load(dedent(source)).Palette(), load(new).Palette()
        assert (
            old.pick(["red", "pink", "cyan"])
            == fresh.pick(["red", "pink", "cyan"])
            == [
                "red",
                "cyan",
            ]
        )
    else:
        assert_same_behaviour(source, new, "Palette.pick", calls)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ('KNOWN = tuple(["gif", "png", "jpg", "webp"])', "_KNOWN_SET = frozenset(KNOWN)"),
        ('KNOWN = "gif png jpg webp".split()', "_KNOWN_SET = frozenset(KNOWN)"),
        ('BASE = ("gif", "png")\nKNOWN = BASE + ("jpg", "webp")', "_KNOWN_SET = frozenset(KNOWN)"),
        ('KNOWN = list("gif png".split()) + ["jpg"]', "_KNOWN_SET = frozenset(KNOWN)"),
    ],
)
def test_constants_built_with_tuple_split_or_concatenation_are_converted(definition, expected):
    source = f"""
{definition}


def images(names):
    return [n for n in names if n.rsplit(".", 1)[-1] in KNOWN]
"""
    result = apply("membership-set", source, "images")
    new = result.new_source
    assert f"{definition}\n{expected}\n" in new
    assert "in _KNOWN_SET]" in new
    assert_same_behaviour(source, new, "images", [(["a.gif", "b.txt", "c.jpg", "d"],), ([],)])


def test_a_module_constant_changed_elsewhere_in_the_repository_is_refused(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "plugins.py").write_text(
        "from pkg.mod import STOPWORDS\n\nSTOPWORDS.append('via')\n"
    )
    with pytest.raises(CodemodRefused, match=r"STOPWORDS is changed at pkg/plugins.py:3"):
        apply("membership-set", TERMS, "terms", repo_root=str(tmp_path))


def test_a_module_constant_only_read_elsewhere_in_the_repository_is_converted(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "report.py").write_text(
        "import pkg.mod as m\n\nprint(len(m.STOPWORDS), sorted(m.STOPWORDS))\n"
    )
    result = apply("membership-set", TERMS, "terms", repo_root=str(tmp_path))
    assert "word in _STOPWORDS_SET:" in result.new_source


def test_a_class_constant_a_subclass_overrides_is_refused(tmp_path):
    source = """
    class Palette:
        PRIMARY = ("red", "green", "blue", "cyan")

        def pick(self, xs):
            return [x for x in xs if x in self.PRIMARY]
    """
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "dark.py").write_text(
        "from pkg.mod import Palette\n\n\nclass Dark(Palette):\n    PRIMARY = ('black',)\n"
    )
    with pytest.raises(CodemodRefused, match=r"may be changed or overridden.*class Dark"):
        apply("membership-set", source, "Palette.pick", repo_root=str(tmp_path))


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("seen = set()", "seen is already a set"),  # toolz's join: `key not in seen_keys`
        ("seen = list(names)", r"seen is built at run time, not from constants \(list\(names\)\)"),
    ],
)
def test_a_local_collection_is_refused_for_what_it_is(setup, reason):
    source = (
        "def keep(items, names):\n"
        f"    {setup}\n"
        "    out = []\n"
        "    for item in items:\n"
        "        if item not in seen:\n"
        "            out.append(item)\n"
        "    return out\n"
    )
    with pytest.raises(CodemodRefused, match=reason):
        apply("membership-set", source, "keep")
