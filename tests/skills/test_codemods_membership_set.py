"""membership-set: `in` against constant lists becomes a frozenset lookup; mutable ones refuse."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour

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
