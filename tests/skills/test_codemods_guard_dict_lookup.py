"""guard-dict-lookup: a KeyError caught in a loop becomes an `in` test on a plain dict, one test
per shape; every shape it cannot prove equivalent is refused with its reason."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour, load

ASSIGN = """
def prices(items, table_rows):
    table = {}
    for name, price in table_rows:
        table[name] = price
    out = []
    for item in items:
        try:
            price = table[item]
            out.append(price * 2)
        except KeyError:
            out.append(None)
    return out
"""


def test_an_assignment_from_a_local_dict_is_tested_first_and_behaves_the_same():
    result = apply("guard-dict-lookup", ASSIGN, "prices")
    new = result.new_source
    assert (
        "        if item in table:\n            try:\n                price = table[item]\n" in new
    )
    assert "        else:\n            out.append(None)\n" in new
    assert "item in table" in result.summary and "plain dict" in result.summary
    rows = [("a", 1), ("b", 2)]
    # A KeyError raised after the lookup (a dict in the row) is still handled as before.
    assert_same_behaviour(
        ASSIGN, new, "prices", [(["a", "x", "b"], rows), ([], rows), (["a"], [("a", {})])]
    )


JOIN = """
def group(key, seq):
    rv = {}
    for item in seq:
        rv.setdefault(key(item), []).append(item)
    return rv


def join(key, left, right, default=None):
    d = group(key, left)
    for item in right:
        k = key(item)
        try:
            for match in d[k]:
                yield (match, item)
        except KeyError:
            if default is not None:
                yield (default, item)
"""


def test_a_loop_over_the_lookup_in_a_generator_with_a_dict_from_a_helper():
    result = apply("guard-dict-lookup", JOIN, "join")
    new = result.new_source
    assert "        if k in d:\n            try:\n                for match in d[k]:" in new
    old_join, new_join = load(JOIN).join, load(new).join
    for args in [
        (abs, [1, -1, 2], [1, 3, -2]),
        (abs, [1, 2], [3, 4], "none"),
        (len, ["ab", "c"], ["xy", "zzz"], "-"),
    ]:
        assert list(new_join(*args)) == list(old_join(*args))


RETURN = """
from collections import OrderedDict


class Registry:
    def first_known(self, names, pairs):
        seen = OrderedDict(pairs)
        for name in names:
            try:
                return seen[name]
            except (KeyError, TypeError):
                continue
        return None
"""


def test_a_return_from_an_ordered_dict_in_a_method_with_a_tuple_of_exceptions():
    result = apply("guard-dict-lookup", RETURN, "Registry.first_known")
    new = result.new_source
    assert "            if name in seen:\n                try:\n" in new
    assert "            else:\n                continue\n" in new
    old, fresh = load(RETURN).Registry(), load(new).Registry()
    for args in [(["x", "b"], [("a", 1), ("b", 2)]), (["x"], [("a", 1)]), ([], [])]:
        assert fresh.first_known(*args) == old.first_known(*args)


def test_a_dict_call_and_a_lookup_error_handler():
    source = """
    def counts(words, pairs):
        totals = dict(pairs)
        n = 0
        for word in words:
            try:
                n += totals[word]
            except LookupError:
                n -= 1
        return n
    """
    # `n += totals[word]` evaluates n first: not a lookup the `try` starts with.
    with pytest.raises(CodemodRefused, match="does not start with a lookup"):
        apply("guard-dict-lookup", source, "counts")
    source = source.replace("n += totals[word]", "value = totals[word]\n                n += value")
    result = apply("guard-dict-lookup", source, "counts")
    assert "if word in totals:" in result.new_source
    assert_same_behaviour(source, result.new_source, "counts", [(["a", "q"], [("a", 3)])])


LOOKUP_LOOP = """
import collections
import logging

log = logging.getLogger(__name__)


def helper():
    return {{}}


def find(keys, arg):
    {binding}
    out = []
    for key in keys:
        try:
            out.append(d[key])
        except KeyError{handler}
    return out
"""


@pytest.mark.parametrize(
    ("binding", "handler", "reason"),
    [
        (
            "d = collections.defaultdict(list)",
            ":\n            pass",
            "not known to be a plain dict",
        ),
        ("d = arg", ":\n            pass", "not known to be a plain dict"),
        ("d = {}", " as exc:\n            out.append(exc)", "names the exception"),
        ("d = {}", ":\n            raise", "the handler raises"),
        ("d = {}", ":\n            log.exception('missing')", "reads the exception"),
        ("d = {}", ":\n            raise ValueError(key)", "the handler raises"),
    ],
)
def test_unprovable_shapes_are_refused_with_the_reason(binding, handler, reason):
    source = LOOKUP_LOOP.format(binding=binding, handler=handler)
    source = source.replace("out.append(d[key])", "value = d[key]\n            out.append(value)")
    with pytest.raises(CodemodRefused, match=reason):
        apply("guard-dict-lookup", source, "find")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (  # d is a parameter: a defaultdict would never raise
            "def f(d, keys):\n    for k in keys:\n        try:\n            v = d[k]\n"
            "        except KeyError:\n            v = 0\n    return v\n",
            "parameter",
        ),
        (  # the helper is bound twice in the module
            "def mk():\n    return {}\n\nmk = dict\n\ndef f(keys):\n    d = mk()\n"
            "    for k in keys:\n        try:\n            v = d[k]\n"
            "        except KeyError:\n            v = 0\n    return v\n",
            "not a function defined once",
        ),
        (  # the key is an attribute: evaluated twice
            "def f(items):\n    d = {}\n    for it in items:\n        try:\n"
            "            v = d[it.key]\n        except KeyError:\n"
            "            v = 0\n    return v\n",
            "not a name or a constant",
        ),
        (  # a finally clause
            "def f(keys):\n    d = {}\n    for k in keys:\n        try:\n            v = d[k]\n"
            "        except KeyError:\n            v = 0\n        finally:\n            v = 1\n"
            "    return v\n",
            "finally",
        ),
        (  # not in a loop: a miss happens at most once per call
            "def f(k):\n    d = {}\n    try:\n        return d[k]\n    except KeyError:\n"
            "        return 0\n",
            "no `try`/`except KeyError` around a dict lookup in a loop",
        ),
    ],
)
def test_other_refusals(source, reason):
    with pytest.raises(CodemodRefused, match=reason):
        apply("guard-dict-lookup", source, "f")
