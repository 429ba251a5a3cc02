"""memoize: lru_cache on provably pure functions; refusals name the reason."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour

PURE = '''
"""Rates."""
RULES = (("US", 0.07), ("DE", 0.19), ("FR", 0.2))


def rate(country, default=0.0):
    country = country.strip().upper()
    for code, value in RULES:
        if code == country:
            return value
    if default is None:
        raise LookupError(f"no rate for {country}")
    return default
'''


def test_a_pure_function_gets_lru_cache_and_functools_is_imported():
    result = apply("memoize", PURE, "rate")
    new = result.new_source
    assert new.startswith('"""Rates."""\n\nimport functools\n\nRULES')
    assert (
        "\n\n@functools.lru_cache(maxsize=1024, typed=True)\ndef rate(country, default=0.0):" in new
    )
    assert result.first_line == result.last_line == 5
    assert_same_behaviour(PURE, new, "rate", [" us", "de", ("XX",), ("XX", None), ("fr", 1.0)])


def test_existing_aliases_and_decorators_are_respected():
    source = """
    import functools as ft
    from functools import lru_cache


    def traced(func):
        return func


    class Units:
        @staticmethod
        @traced
        def factor(unit):
            return {"k": 1000, "M": 1000000}.get(unit, 1)
    """
    result = apply("memoize", source, "Units.factor")
    assert (
        "    @staticmethod\n    @traced\n    @lru_cache(maxsize=1024, typed=True)\n"
        "    def factor(unit):" in result.new_source
    )
    assert_same_behaviour(source, result.new_source, "Units.factor", ["k", "M", "x"])
    only_alias = source.replace("from functools import lru_cache\n", "")
    result = apply("memoize", only_alias, "Units.factor")
    assert "    @ft.lru_cache(maxsize=1024, typed=True)\n    def factor" in result.new_source


def test_classmethods_keep_classmethod_outermost():
    source = """
    class Units:
        SCALE = (("k", 1000), ("M", 1000000))

        @classmethod
        def factor(cls, unit):
            return dict(cls.SCALE).get(unit, 1)
    """
    result = apply("memoize", source, "Units.factor")
    assert "    @classmethod\n    @functools.lru_cache(maxsize=1024, typed=True)\n" in (
        result.new_source
    )
    assert_same_behaviour(source, result.new_source, "Units.factor", ["k", "M", "x"])


def test_a_cache_the_root_cause_commit_removed_is_restored_with_its_size():
    before = """
    import functools


    @functools.lru_cache(maxsize=64)
    def parse(text):
        return tuple(text.split(","))
    """
    head = """
    import functools


    def parse(text):
        return tuple(text.split(","))
    """
    from tests.skills.codemod_support import dedent

    result = apply(
        "memoize", head, "parse", root_cause_before=dedent(before), root_cause_after=dedent(head)
    )
    assert "@functools.lru_cache(maxsize=64)\ndef parse" in result.new_source
    assert "removed this cache" in result.summary


@pytest.mark.parametrize(
    ("source", "qualname", "reason"),
    [
        ("RULES = [1, 2]\n\ndef f(x):\n    return x in RULES\n", "f", "mutable global RULES"),
        (
            "LIMIT = 3\n\ndef set_limit(v):\n    global LIMIT\n    LIMIT = v\n\n"
            "def f(x):\n    return x < LIMIT\n",
            "f",
            "rebound at run time",
        ),
        ("def f(x):\n    print(x)\n    return x\n", "f", "print"),
        ("import random\n\ndef f(x):\n    return x * random.random()\n", "f", "random.random"),
        ("import time\n\ndef f(x):\n    return time.time() - x\n", "f", "time.time"),
        ("def f(x, seen=[]):\n    return len(seen) + x\n", "f", "not hashable"),
        ("def f(items):\n    items.append(1)\n    return len(items)\n", "f", "append"),
        ("def f(d):\n    return sorted(d.items())[0]\n", "f", "used as a dict"),
        ("def f(x):\n    yield x\n", "f", "generator"),
        ("async def f(x):\n    return x\n", "f", "async"),
        ("def f(x):\n    return [x, x]\n", "f", "mutable object"),
        (
            "class C:\n    def area(self, k):\n        return k * 2\n",
            "C.area",
            "instance method",
        ),
        (
            "def rank(samples, v):\n    return samples.count(v) / len(samples)\n\n"
            "def grade(xs, v):\n    ref = sorted(xs)\n    return rank(ref, v)\n",
            "rank",
            "called with ref = sorted",
        ),
        (
            "import logging\nlog = logging.getLogger(__name__)\n\n"
            "def f(x):\n    log.debug('x')\n    return x\n",
            "f",
            "debug",
        ),
        (
            "def helper(x):\n    print(x)\n    return x\n\ndef f(x):\n    return helper(x) + 1\n",
            "f",
            "print",
        ),
        ("import functools\n\n@functools.cache\ndef f(x):\n    return x\n", "f", "already"),
        ("def outer(y):\n    def f(x):\n        return x\n    return f(y)\n", "outer.f", "inside"),
        ("def f(order):\n    return sum(order.lines)\n", "f", "attributes may change"),
        ("def f(account):\n    return account.balance() * 2\n", "f", "state may change"),
        ("PRICES = {'a': 1}\n\ndef f(x, prices=PRICES):\n    return x\n", "f", "PRICES"),
        ("import os\n\ndef f(x):\n    return os.getenv(x)\n", "f", "another module"),
        ("import db\n\ndef f(x):\n    return db.lookup(x)\n", "f", "another module"),
        ("import sys\n\ndef f(x):\n    return sys.prefix + x\n", "f", "process state"),
        ("class K:\n    n = 0\n\ndef f(x):\n    return K.n + x\n", "f", "class attribute"),
        (
            "def f(x):\n    if isinstance(x, (tuple, list)):\n        return len(x)\n"
            "    return 0\n",
            "f",
            "isinstance",
        ),
        ('def f(xs):\n    """Sum a list of numbers."""\n    return sum(xs)\n', "f", "docstring"),
        ("def f(key, x):\n    return key(x)\n", "f", "callback"),
        ("def f(x):\n    x.strip()\n", "f", "returns nothing"),
        ("def f(x):\n    return x.strip().split(',')\n", "f", "mutable object"),
        (
            "def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n",
            "f",
            "iterates",
        ),
    ],
)
def test_unsafe_functions_are_refused_with_a_reason(source, qualname, reason):
    with pytest.raises(CodemodRefused, match=reason):
        apply("memoize", source, qualname)
