"""memoize: lru_cache on provably pure functions; refusals name the reason."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour, load

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
        (
            "RULES = [1, 2]\n\ndef add(r):\n    RULES.append(r)\n\n"
            "def f(x):\n    return x in RULES\n",
            "f",
            "mutable global RULES, which is changed at pkg/mod.py:4: RULES.append",
        ),
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
        ("def f(x):\n    return [x, [x]]\n", "f", "mutable object.*items are new containers"),
        ("import collections\n\ndef f(x):\n    return collections.Counter(x)\n", "f", "mutable"),
        ("def f(x):\n    if x:\n        return {'x': x}\n", "f", "may also end without a return"),
        ("def f(x):\n    if x:\n        return {'x': x}\n    return None\n", "f", "something else"),
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
        (
            "import os\n\nos.environ['MODE'] = 'fast'\n\ndef f(x):\n    return os.getenv(x)\n",
            "f",
            "reads the environment, which the program changes",
        ),
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
        (
            "class C:\n    @staticmethod\n    def f(x):\n        return x.strip().split(',')\n",
            "C.f",
            "new list that callers may change",
        ),
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


def test_a_function_returning_a_fresh_dict_caches_a_snapshot_and_returns_a_copy():
    source = '''
    def defaults(region: str) -> dict:
        """Settings for a region."""
        base = {"region": region, "currency": "EUR"}
        if region == "us":
            base["currency"] = "USD"
        return base
    '''
    result = apply("memoize", source, "defaults")
    new = result.new_source
    assert new == (
        "import functools\n\n\n"
        "def defaults(region: str) -> dict:\n"
        '    """Settings for a region."""\n'
        "    return dict(_defaults_snapshot(region))\n\n\n"
        "@functools.lru_cache(maxsize=1024, typed=True)\n"
        "def _defaults_snapshot(region: str):\n"
        '    base = {"region": region, "currency": "EUR"}\n'
        '    if region == "us":\n'
        '        base["currency"] = "USD"\n'
        "    return tuple(base.items())\n"
    )
    assert "caches an immutable snapshot (a tuple of its items)" in result.summary
    assert_same_behaviour(source, new, "defaults", ["us", "de", ""])
    module = load(new)
    first = module.defaults("us")
    first["currency"] = "changed by a caller"
    assert module.defaults("us") == {"region": "us", "currency": "USD"}


def test_a_fresh_list_with_keyword_only_arguments_is_forwarded_and_copied():
    source = """
    def codes(text: str, *, upper=False):
        return [c.upper() if upper else c for c in text.split(",")]
    """
    result = apply("memoize", source, "codes")
    new = result.new_source
    assert "    return list(_codes_snapshot(text, upper=upper))\n" in new
    assert "def _codes_snapshot(text: str, *, upper=False):\n" in new
    assert '    return tuple([c.upper() if upper else c for c in text.split(",")])\n' in new
    assert_same_behaviour(source, new, "codes", ["a,b", ("a,b",), ""])
    module = load(new)
    module.codes("a,b").append("x")
    assert module.codes("a,b") == ["a", "b"]


def test_an_argument_less_function_gets_functools_cache_and_names_the_platform_assumption():
    source = """
    import sys


    def is_windows():
        return sys.platform.startswith("win")
    """
    result = apply("memoize", source, "is_windows")
    assert "\n\n@functools.cache\ndef is_windows():\n" in result.new_source
    assert "computed once per process" in result.summary
    assert "assumes the platform it reads" in result.summary
    assert_same_behaviour(source, result.new_source, "is_windows", [()])


def test_an_interpreter_read_in_a_classmethod_names_the_interpreter_assumption():
    source = """
    import sys


    class Features:
        @classmethod
        def has_match(cls):
            return sys.version_info >= (3, 10)
    """
    result = apply("memoize", source, "Features.has_match")
    assert "    @classmethod\n    @functools.cache\n    def has_match(cls):" in result.new_source
    assert "assumes the interpreter it reads" in result.summary


def test_an_environment_read_nothing_writes_is_cached_and_says_so(tmp_path):
    source = """
    import os


    def data_dir():
        return os.environ.get("APP_HOME", "/srv") + "/data"
    """
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "cli.py").write_text("import os\n\nprint(os.environ.get('APP_HOME'))\n")
    result = apply("memoize", source, "data_dir", repo_root=str(tmp_path))
    assert "@functools.cache\ndef data_dir():" in result.new_source
    assert "environment variables it reads do not change" in result.summary
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_cli.py").write_text(
        "def test_home(monkeypatch):\n    monkeypatch.setenv('APP_HOME', '/tmp')\n"
    )
    with pytest.raises(CodemodRefused, match=r"tests/test_cli.py:2"):
        apply("memoize", source, "data_dir", repo_root=str(tmp_path))


def test_a_dict_global_nothing_in_the_repository_changes_is_a_constant(tmp_path):
    source = """
    PRICES = {"a": 1, "b": 2}


    def price(item: str, quantity: int):
        return PRICES.get(item, 0) * quantity
    """
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "report.py").write_text(
        "from pkg.mod import PRICES\n\nprint(len(PRICES))\n"
    )
    result = apply("memoize", source, "price", repo_root=str(tmp_path))
    assert "@functools.lru_cache(maxsize=1024, typed=True)\ndef price(" in result.new_source
    assert_same_behaviour(source, result.new_source, "price", [("a", 2), ("z", 1)])
    (tmp_path / "pkg" / "admin.py").write_text("from pkg import mod\n\nmod.PRICES['c'] = 3\n")
    with pytest.raises(CodemodRefused, match=r"PRICES, which is changed at pkg/admin.py:3"):
        apply("memoize", source, "price", repo_root=str(tmp_path))


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (  # more-itertools' exactly_n: the predicate is a callback, the iterable is consumed
            "from itertools import islice\n\n\ndef exactly_n(iterable, n, predicate=bool):\n"
            "    return len(list(islice(filter(predicate, iterable), n + 1))) == n\n",
            r"passes its argument predicate to filter\(\) as a function",
        ),
        (
            "import itertools\n\n\ndef first_n(iterable, n):\n"
            "    return tuple(itertools.islice(iterable, n))\n",
            r"passes its argument iterable to islice\(\), which iterates it .*stale entry",
        ),
        (
            "def top(scores: tuple, rank):\n    return sorted(scores, key=rank)[:3]\n",
            r"passes its argument rank to sorted\(\) as a function",
        ),
    ],
)
def test_an_argument_consumed_or_called_by_a_builtin_is_refused(source, reason):
    with pytest.raises(CodemodRefused, match=reason):
        apply("memoize", source, source.split("def ")[1].split("(")[0])


def test_a_cache_keyed_on_an_iterator_would_answer_from_a_stale_entry():
    # Why the refusal above is right: the same iterator object, asked twice, differs.
    import functools
    import itertools

    def first_n(iterable, n):
        return tuple(itertools.islice(iterable, n))

    cached = functools.lru_cache(maxsize=8)(first_n)
    plain_it, cached_it = iter(range(6)), iter(range(6))
    assert first_n(plain_it, 2) == cached(cached_it, 2) == (0, 1)
    assert first_n(plain_it, 2) == (2, 3)
    assert cached(cached_it, 2) == (0, 1)  # stale


def test_an_argument_annotated_as_a_tuple_may_be_iterated():
    source = """
    def total(values: tuple[int, ...], scale: int) -> int:
        return sum(values) * scale
    """
    result = apply("memoize", source, "total")
    assert "@functools.lru_cache(maxsize=1024, typed=True)\ndef total(" in result.new_source
    assert_same_behaviour(source, result.new_source, "total", [((1, 2), 3), ((), 1)])


@pytest.mark.parametrize(
    ("source", "work"),
    [
        (  # Python-Markdown's isString: two isinstance checks
            "class AtomicString(str):\n    pass\n\n\ndef is_string(s):\n"
            "    if not isinstance(s, AtomicString):\n        return isinstance(s, str)\n"
            "    return False\n",
            r"isinstance\(\)",
        ),
        (  # Python-Markdown's dequote: prefix and suffix tests and a slice
            "def dequote(string):\n"
            "    if string.startswith('\"') and string.endswith('\"'):\n"
            "        return string[1:-1]\n    return string\n",
            r"endswith\(\), startswith\(\)",
        ),
    ],
)
def test_a_function_cheaper_than_a_cache_lookup_is_refused(source, work):
    qualname = source.split("def ")[1].split("(")[0]
    reason = rf"does only constant-time work \({work}.*saves nothing"
    with pytest.raises(CodemodRefused, match=reason):
        apply("memoize", source, qualname)
