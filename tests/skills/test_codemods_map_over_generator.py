"""map-over-generator: generator expressions fed to consumers become map() with operator
callables, one test per shape; the shapes it cannot prove the same are refused."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour

SUMPROD = """
from itertools import chain
from operator import mul


def sumprod(v1, v2):
    r1 = chain((p.real for p in v1), (-p.imag for p in v1))
    r2 = chain((q.real for q in v2), (q.imag for q in v2))
    return sum(map(mul, r1, r2))
"""


def test_attributes_and_a_unary_minus_inside_chain_import_next_to_the_operator_import():
    result = apply("map-over-generator", SUMPROD, "sumprod")
    new = result.new_source
    assert "from operator import mul\nfrom operator import attrgetter, neg\n" in new
    assert 'r1 = chain(map(attrgetter("real"), v1), map(neg, map(attrgetter("imag"), v1)))' in new
    assert "resumes a Python frame" in result.summary
    values = [complex(1, 2), complex(-3, 0.5)]
    assert_same_behaviour(SUMPROD, new, "sumprod", [(values, values[::-1]), ([], []), ([1], [2])])


def test_a_constant_key_in_sum_with_the_operator_module_under_an_alias():
    source = """
    import operator as op


    def total(rows):
        return sum(row["amount"] for row in rows) + max(r[0] for r in rows)
    """
    new = apply("map-over-generator", source, "total").new_source
    assert 'sum(map(op.itemgetter("amount"), rows))' in new
    assert "max(map(op.itemgetter(0), rows))" in new
    rows = [{"amount": 3, 0: 9}, {"amount": 4, 0: 1}]
    assert_same_behaviour(source, new, "total", [(rows,), ([{"amount": 1}],), ([],)])


def test_builtin_and_module_functions_and_a_string_join_in_a_method():
    source = """
    def score(word):
        return len(word) * 2


    class Report:
        def line(self, words):
            return ", ".join(str(w) for w in words) + str(max(score(w) for w in words))
    """
    new = apply("map-over-generator", source, "Report.line").new_source
    assert '", ".join(map(str, words))' in new and "max(map(score, words))" in new
    assert "import" not in new  # map and the functions need no import
    assert_same_behaviour(
        source, new, "Report.line", [(None, ["ab", "c"]), (None, [1, 22]), (None, [])]
    )


def test_not_of_an_attribute_chain_in_any():
    source = """
    def pending(tasks):
        return any(not t.state.done for t in tasks)
    """
    new = apply("map-over-generator", source, "pending").new_source
    assert 'any(map(not_, map(attrgetter("state.done"), tasks)))' in new
    assert "from operator import attrgetter, not_\n" in new


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def f(xs):\n    return sum(x.a for x in xs if x)\n", "an `if`"),
        ("def f(xs, g):\n    return sum(g(x) for x in xs)\n", "g is a local"),
        ("def f(xs):\n    return sum(x.a + 1 for x in xs)\n", "not an attribute, key"),
        (
            "def g(x):\n    return x\n\ng = abs\n\ndef f(xs):\n    return sum(g(x) for x in xs)\n",
            "g is rebound",
        ),
        (
            "def attrgetter(x):\n    return x\n\ndef f(xs):\n    return sum(x.a for x in xs)\n",
            "already uses the name",
        ),
        ("def f(xs):\n    map = 1\n    return sum(x.a for x in xs)\n", "`map` is rebound"),
        (  # kept as a generator object: a caller may .send() to it
            "def f(xs):\n    gen = (x.a for x in xs)\n    return gen\n",
            "passes no generator expression",
        ),
    ],
)
def test_unprovable_shapes_are_refused(source, reason):
    with pytest.raises(CodemodRefused, match=reason):
        apply("map-over-generator", source, "f")


def test_a_private_attribute_in_a_class_is_refused():
    source = """
    class Box:
        def total(self, boxes):
            return sum(b.__size for b in boxes)
    """
    with pytest.raises(CodemodRefused, match="mangled"):
        apply("map-over-generator", source, "Box.total")
