"""inline-trivial-helper: calls of one-`return` helpers of the same module are replaced by the
expression, one test per shape; every order or scope it cannot keep is refused."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour

NESTED = '''
import itertools


def drop(n, seq):
    """Skip the first n items."""
    return itertools.islice(seq, n, None)


def concat(seqs):
    return itertools.chain.from_iterable(seqs)


def interpose(el, seq):
    combined = zip(itertools.repeat(el), seq)
    return list(drop(1, concat(combined)))
'''


def test_helpers_calling_through_each_other_are_inlined_level_by_level():
    result = apply("inline-trivial-helper", NESTED, "interpose")
    new = result.new_source
    assert "return list(itertools.islice(itertools.chain.from_iterable(combined), 1, None))" in new
    assert "def drop(n, seq):" in new and "def concat(seqs):" in new  # kept for other callers
    assert "drop(...)" in result.summary and "concat(...)" in result.summary
    assert_same_behaviour(NESTED, new, "interpose", [("a", [1, 2, 3]), ("a", []), (0, "xy")])


COUNT = """
from itertools import compress, islice, repeat


def ilen(iterable):
    return sum(compress(repeat(1), zip(iterable)))


def exactly_n(iterable, n, predicate=bool):
    return ilen(islice(filter(predicate, iterable), n + 1)) == n
"""


def test_an_argument_with_an_effect_after_pure_steps_only():
    new = apply("inline-trivial-helper", COUNT, "exactly_n").new_source
    assert (
        "return sum(compress(repeat(1), zip(islice(filter(predicate, iterable), n + 1)))) == n"
        in new
    )
    assert_same_behaviour(
        COUNT, new, "exactly_n", [([1, 0, 1], 2), ([], 0), ([1, 1], 1), ([0, 3], 1, bool)]
    )


PRECEDENCE = """
def scaled(value, factor=2, *, offset=0):
    return value * factor + offset


class Meter:
    def reading(self, raw):
        return 3 * scaled(raw + 1, offset=raw) - scaled(raw)
"""


def test_keywords_defaults_and_parentheses_in_a_method():
    new = apply("inline-trivial-helper", PRECEDENCE, "Meter.reading").new_source
    assert "return 3 * ((raw + 1) * 2 + raw) - (raw * 2 + 0)" in new
    assert_same_behaviour(PRECEDENCE, new, "Meter.reading", [(None, 1), (None, -4), (None, 0.5)])


@pytest.mark.parametrize(
    ("helpers", "call", "reason"),
    [
        ("def sq(x):\n    return x * x\n", "sq(g(y))", "other than once"),
        ("def sub(a, b):\n    return b - a\n", "sub(g(y), g(y))", "another order"),
        ("def h(x):\n    return g(1) + x\n", "h(g(y))", "does work before"),
        ("def pick(a, b):\n    return a or b\n", "pick(y, g(y))", "under a condition"),
        ("h = abs\n\ndef h(x):\n    return x\n", "h(y)", "rebound"),
        ("import functools\n\n@functools.cache\ndef h(x):\n    return x\n", "h(y)", "decorated"),
        ("def h(x):\n    return (lambda: x)()\n", "h(y)", "Lambda"),
        ("def h(x):\n    return total + x\n\ntotal = 1\n", "h(y)", "total is a local here"),
        ("def h(x, unused):\n    return x\n", "h(y, g(y))", "other than once"),
    ],
)
def test_unkept_orders_and_scopes_are_refused(helpers, call, reason):
    source = (
        "def g(v):\n    v = [v]\n    return v\n\n"  # two statements: no helper to inline
        + helpers
        + f"\n\ndef f(y):\n    total = 0\n    return {call}, total\n"
    )
    with pytest.raises(CodemodRefused, match=reason):
        apply("inline-trivial-helper", source, "f")


def test_a_function_nested_in_another_is_refused():
    source = """
    def one(x):
        return x + 1


    def outer(xs):
        def inner(x):
            return one(x)

        return [inner(x) for x in xs]
    """
    with pytest.raises(CodemodRefused, match="nested in a function"):
        apply("inline-trivial-helper", source, "outer.inner")
