"""hoist-loop-invariant: pure invariant calls move before the loop; variant or unsafe ones stay."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour, dedent, load

SLOW = """
import statistics


def slow(requests, baseline, factor=3.0, overrides=None):
    overrides = overrides or {}
    flagged = []
    for request in requests:
        if request["status"] >= 500:
            continue
        limit = statistics.median(baseline) * overrides.get(request["path"], factor)
        if request["ms"] > limit:
            flagged.append(request["id"])
    return flagged
"""


def req(i, ms, status=200, path="/a"):
    return {"id": i, "ms": ms, "status": status, "path": path}


def test_median_in_a_larger_expression_is_hoisted_behind_an_emptiness_test():
    result = apply("hoist-loop-invariant", SLOW, "slow")
    new = result.new_source
    assert (
        "    median_baseline = statistics.median(baseline) if baseline else None\n"
        "    for request in requests:\n"
    ) in new
    assert 'limit = median_baseline * overrides.get(request["path"], factor)' in new
    assert (result.first_line, result.last_line) == (7, 10)
    assert_same_behaviour(
        SLOW,
        new,
        "slow",
        [
            ([req(1, 40), req(2, 10), req(3, 99, 503)], [10, 12, 11]),
            ([req(1, 40)], [10], 5.0, {"/a": 2.0}),
            ([], []),  # never reached: the original did not raise, neither may the fix
            ([req(1, 900, 503)], []),  # every iteration skips the call
        ],
    )


def test_nested_loops_hoist_to_the_outermost_invariant_loop_and_comprehensions_work():
    source = """
    def score(rows, weights, names):
        out = []
        for row in rows:
            for cell in row:
                out.append(cell * sum(weights) + len(names))
        return out, [n for n in names if len(n) > len(weights)]
    """
    result = apply("hoist-loop-invariant", source, "score")
    new = result.new_source
    assert (
        "    out = []\n    sum_weights = sum(weights)\n    len_names = len(names)\n"
        "    for row in rows:\n"
    ) in new
    assert "out.append(cell * sum_weights + len_names)" in new
    assert "len_weights = len(weights)" in new
    assert "[n for n in names if len(n) > len_weights]" in new
    assert_same_behaviour(
        source, new, "score", [([[1, 2], [3]], [0.5, 0.5], ["ab", "c"]), ([], [], [])]
    )


def test_method_calls_on_invariant_strings_and_methods_in_classes():
    source = """
    class Matcher:
        def count(self, words, needle):
            hits = 0
            for word in words:
                if word.lower() == needle.strip().lower():
                    hits += 1
            return hits
    """
    result = apply("hoist-loop-invariant", source, "Matcher.count")
    assert "        needle_strip_lower = needle.strip().lower()\n        for word in words:" in (
        result.new_source
    )
    assert "if word.lower() == needle_strip_lower:" in result.new_source
    old, new = load(dedent(source)), load(result.new_source)
    for words, needle in [(["A", "b", "a"], " a "), ([], "x")]:
        assert new.Matcher().count(words, needle) == old.Matcher().count(words, needle)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "def f(xs, ys):\n    out = []\n    for x in xs:\n        ys.append(x)\n"
            "        out.append(len(ys))\n    return out\n",
            "may change",
        ),
        (
            "def f(xs, ys):\n    for x in xs:\n        ys = ys[1:]\n        print(sum(ys))\n",
            "assigns",
        ),
        (
            "def f(xs):\n    total = 0\n    for x in xs:\n        total += len(str(x))\n"
            "    return total\n",
            "nothing",
        ),
        (
            "def f(xs, ys):\n    out = []\n    for x in xs:\n        out.append(max(ys[1:]) + x)\n"
            "    return out\n",
            "cannot be tested cheaply",
        ),
        (
            "def f(xs, store):\n    out = []\n    for x in xs:\n        store.save(x)\n"
            "        out.append(len(store.items))\n    return out\n",
            "may change",
        ),
        (
            "import statistics\n\ndef f(xs, ys):\n    out = []\n    for x in xs:\n        try:\n"
            "            out.append(statistics.median(ys))\n        except ValueError:\n"
            "            out.append(0)\n    return out\n",
            "nothing",
        ),
        (
            "def f(xs, ys):\n    zs = ys\n    out = []\n    for x in xs:\n        zs.append(x)\n"
            "        out.append(len(ys))\n    return out\n",
            "another name",
        ),
    ],
)
def test_variant_or_unsafe_calls_are_refused(source, reason):
    if reason == "nothing":
        with pytest.raises(CodemodRefused):
            apply("hoist-loop-invariant", source, "f")
        return
    with pytest.raises(CodemodRefused, match=reason):
        apply("hoist-loop-invariant", source, "f")


def test_while_conditions_and_generator_arguments():
    source = """
    def drain(queue, limits):
        taken = []
        i = 0
        while i < len(queue):
            taken.append(queue[i] * sum(x for x in limits if x > max(limits, default=0) / 2))
            i += 1
        return taken
    """
    result = apply("hoist-loop-invariant", source, "drain")
    new = result.new_source
    assert "    len_queue = len(queue)\n" in new and "while i < len_queue:" in new
    # max(..., default=0) cannot raise on an empty argument: hoisted without a guard.
    assert "max_limits = max(limits, default=0)\n" in new
    assert_same_behaviour(source, new, "drain", [([1, 2, 3], [4, 1, 3]), ([], []), ([2], [])])


def test_a_lazy_generator_kept_for_later_is_left_alone():
    source = """
    def later(xs, ys):
        gen = (x * len(ys) for x in xs)
        ys.append(1)
        return list(gen)
    """
    with pytest.raises(CodemodRefused):
        apply("hoist-loop-invariant", source, "later")


@pytest.mark.parametrize(
    ("qualname", "source", "expected", "calls"),
    [
        (
            "pair",
            "def pair(rows, names):\n    out = []\n    for r in rows:\n"
            "        for n in sorted(names):\n            out.append((r, n))\n    return out\n",
            "def pair(rows, names):\n    out = []\n    sorted_names = sorted(names)\n"
            "    for r in rows:\n        for n in sorted_names:\n"
            "            out.append((r, n))\n    return out\n",
            [((1, 2), ("b", "a")), ((), ("a",)), ((1,), ())],
        ),
        (
            "count",
            "def count(rows, limit):\n    i = 0\n    while i < len(rows) and i < limit:\n"
            "        i += 1\n    return i\n",
            "def count(rows, limit):\n    i = 0\n    len_rows = len(rows)\n"
            "    while i < len_rows and i < limit:\n        i += 1\n    return i\n",
            [((1, 2, 3), 2), ((), 5), ((1,), 9)],
        ),
        (
            "over",
            "def over(rows, names):\n    return sum(1 for r in rows if r > len(names))\n",
            "def over(rows, names):\n    len_names = len(names)\n"
            "    return sum(1 for r in rows if r > len_names)\n",
            [((1, 2, 3), "ab"), ((), "")],
        ),
    ],
    ids=["inner-loop-iterable", "while-condition", "generator-expression"],
)
def test_expressions_in_inner_loops_conditions_and_generators_are_hoisted(
    qualname, source, expected, calls
):
    result = apply("hoist-loop-invariant", source, qualname)
    assert result.new_source == expected
    assert_same_behaviour(source, result.new_source, qualname, calls)


def test_an_attribute_read_in_a_method_comprehension_is_hoisted_and_a_subscript_max_is_not():
    source = """
    class Box:
        def __init__(self, names):
            self.names = names

        def big(self, rows, cfg):
            return [r for r in rows if r > len(self.names) and r < max(cfg["caps"])]
    """
    result = apply("hoist-loop-invariant", source, "Box.big")
    assert (
        "        len_names = len(self.names)\n"
        '        return [r for r in rows if r > len_names and r < max(cfg["caps"])]\n'
    ) in result.new_source
    assert "cannot be tested cheaply" in result.summary  # max() of a subscript: left alone
    old, new = load(dedent(source)).Box("ab"), load(result.new_source).Box("ab")
    assert old.big([1, 3, 5], {"caps": [4]}) == new.big([1, 3, 5], {"caps": [4]}) == [3]


# -- shapes met in real code (bench/realworld) ---------------------------------------------------

SLIDING = """
import collections
import itertools


def windows(n, seq):
    it = iter(seq)
    d = collections.deque(itertools.islice(it, n), n)
    d_append = d.append
    for item in it:
        yield tuple(d)
        d_append(item)
    yield tuple(d)
"""


def test_an_object_changed_through_a_bound_method_held_in_a_local_is_not_invariant():
    # toolz's sliding_window: `tuple(d)` looks invariant, but `d_append(item)` changes d.
    with pytest.raises(CodemodRefused, match=r"reads d, which has another name: d\.append"):
        apply("hoist-loop-invariant", SLIDING, "windows")


@pytest.mark.parametrize(
    "source",
    [
        "def f(xs, grid):\n    out = []\n    row = grid[0]\n    for x in xs:\n"
        "        row.append(x)\n        out.append(sorted(grid))\n    return out\n",
        "class A:\n    def f(self, xs):\n        me = self\n        out = []\n"
        "        for x in xs:\n            me.items.append(x)\n"
        "            out.append(len(self.items))\n"
        "        return out\n",
    ],
)
def test_an_item_or_the_owner_under_another_name_is_an_alias(source):
    qualname = "A.f" if "class A" in source else "f"
    with pytest.raises(CodemodRefused, match="has another name"):
        apply("hoist-loop-invariant", source, qualname)


def test_a_generator_yielding_in_the_loop_leaves_what_its_consumer_can_reach():
    source = """
    def scaled(xs, weights):
        for x in xs:
            yield x * sum(weights)
    """
    with pytest.raises(CodemodRefused, match="generator that yields inside the loop") as refused:
        apply("hoist-loop-invariant", source, "scaled")
    assert "weights comes from the caller" in str(refused.value)
    # And rightly: the consumer may change weights between two items.
    module = load(dedent(source))
    weights = [1]
    gen = module.scaled([1, 1], weights)
    first = next(gen)
    weights.append(1)
    assert (first, next(gen)) == (1, 2)


def test_a_generator_hoists_what_it_made_itself():
    source = """
    def tagged(xs, names):
        seen = set(names)
        for x in xs:
            yield x, len(seen)
    """
    result = apply("hoist-loop-invariant", source, "tagged")
    assert (
        "    seen = set(names)\n    len_seen = len(seen)\n    for x in xs:\n"
        "        yield x, len_seen\n"
    ) in result.new_source
    old, new = load(dedent(source)), load(result.new_source)
    for xs, names in [([1, 2], ["a", "b", "a"]), ([], [])]:
        assert list(new.tagged(xs, names)) == list(old.tagged(xs, names))


def test_a_call_in_an_except_clause_runs_only_on_an_exception_and_is_left_alone():
    # toolz's interleave: `except (StopIteration,) + tuple(pass_exceptions)`.
    source = """
    def firsts(iters, pass_exceptions=()):
        out = []
        for itr in iters:
            try:
                out.append(next(itr))
            except (StopIteration,) + tuple(pass_exceptions):
                pass
        return out
    """
    with pytest.raises(CodemodRefused, match="only when an exception reaches its except clause"):
        apply("hoist-loop-invariant", source, "firsts")


def test_a_call_to_unknown_code_may_change_an_argument_through_its_own_reference():
    source = """
    def total(xs, items, notify):
        out = 0
        for x in xs:
            notify(x)
            out += x * len(items)
        return out
    """
    with pytest.raises(CodemodRefused, match=r"the loop calls notify\(\), which may change it"):
        apply("hoist-loop-invariant", source, "total")


READER = """
class Shelf:
    def __init__(self, items):
        self.items = list(items)
        self.hits = 0

    def _weight(self, x):
        return x * 2 if x in self.items else x

    def score(self, xs):
        out = []
        i = 0
        while i < len(self.items) and i < len(xs):
            out.append(self._weight(xs[i]) + len(self.items))
            self.hits += 1
            i += 1
        return out
"""


def test_self_attribute_is_hoisted_when_the_loop_only_calls_methods_that_read():
    result = apply("hoist-loop-invariant", READER, "Shelf.score")
    new = result.new_source
    assert (
        "        len_items = len(self.items)\n"
        "        while i < len_items and i < len(xs):\n"
        "            out.append(self._weight(xs[i]) + len_items)\n"
    ) in new
    assert "self.items" in result.summary
    old, fresh = load(dedent(READER)), load(new)
    for items, xs in [([1, 2, 3], [3, 4, 1, 9]), ([], [1]), ([5], [])]:
        assert fresh.Shelf(items).score(xs) == old.Shelf(items).score(xs)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (  # the helper writes into the attribute
            ("return x * 2 if x in self.items else x", "self.items.append(x)\n        return x"),
            r"_weight writes|_weight calls self\.items\.append",
        ),
        (  # the helper calls code that cannot be read
            ("return x * 2 if x in self.items else x", "return self.hook(x)"),
            r"_weight calls self\.hook\(\), which is not defined in the class",
        ),
        (  # a subclass overrides the helper
            ("class Shelf:", "class Shelf:"),
            r"_weight is overridden by a subclass \(pkg/mod\.py:\d+: class Wide defines _weight",
        ),
    ],
)
def test_self_attribute_stays_when_a_called_method_may_change_it(change, reason):
    source = dedent(READER).replace(*change)
    if "overridden" in reason:
        source += "\n\nclass Wide(Shelf):\n    def _weight(self, x):\n        self.items.clear()\n"
        source += "        return x\n"
    with pytest.raises(CodemodRefused, match=reason):
        apply("hoist-loop-invariant", source, "Shelf.score")
