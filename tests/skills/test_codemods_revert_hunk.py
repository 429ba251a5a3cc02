"""revert-hunk: the function goes back to its pre-root-cause version, only when that is safe."""

from __future__ import annotations

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, assert_same_behaviour, dedent

BEFORE = '''
import bisect


def rank(samples, value):
    """Fraction of samples <= value."""
    return bisect.bisect_right(samples, value) / len(samples)


def other():
    return 1
'''
AFTER = '''
def rank(samples, value):
    """Fraction of samples <= value."""
    count = 0
    for sample in samples:
        if sample > value:
            break
        count += 1
    return count / len(samples)


def other():
    return 1
'''
HEAD = AFTER.replace("return 1", "return 2")  # a later commit edited another function


def test_the_old_function_replaces_the_new_one_and_the_removed_import_comes_back():
    result = apply(
        "revert-hunk",
        HEAD,
        "rank",
        root_cause_before=dedent(BEFORE),
        root_cause_after=dedent(AFTER),
    )
    new = result.new_source
    assert new.startswith("import bisect\n\n\ndef rank(samples, value):")
    assert "return bisect.bisect_right(samples, value) / len(samples)" in new
    assert "count += 1" not in new
    assert "return 2" in new  # the later edit elsewhere survives
    assert (result.first_line, result.last_line) == (1, 8)
    assert_same_behaviour(HEAD, new, "rank", [([1, 2, 3], 2), ([1, 2, 3], 0), ([5], 9)])


def test_methods_are_reverted_inside_their_class():
    tail = "\n    def g(self):\n        return 0\n"
    before = "class G:\n    def f(self, x):\n        return x * 2\n" + tail
    after = "class G:\n    def f(self, x):\n        return sum(x for _ in range(2))\n" + tail
    result = apply("revert-hunk", after, "G.f", root_cause_before=before, root_cause_after=after)
    assert result.new_source == before


@pytest.mark.parametrize(
    ("head", "before", "after", "reason"),
    [
        (HEAD.replace("count = 0", "count = 0  # edited later"), BEFORE, AFTER, "edited after"),
        (HEAD, None, AFTER, "did not exist before"),
        (HEAD, "def other():\n    return 1\n", AFTER, "did not exist before"),
        (HEAD, AFTER, AFTER, "did not change"),
        (
            HEAD,
            "def rank(samples, value):\n    return _fast(samples, value)\n",
            AFTER,
            "no longer exist",
        ),
    ],
)
def test_unsafe_reverts_are_refused(head, before, after, reason):
    with pytest.raises(CodemodRefused, match=reason):
        apply(
            "revert-hunk",
            head,
            "rank",
            root_cause_before=dedent(before) if before else None,
            root_cause_after=dedent(after),
        )


def test_without_a_root_cause_it_refuses():
    with pytest.raises(CodemodRefused, match="root-cause"):
        apply("revert-hunk", HEAD, "rank")
