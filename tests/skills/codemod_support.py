"""Helpers for the codemod tests: run a codemod, execute old and new source, compare."""

from __future__ import annotations

import ast
import copy
import textwrap
import types

from skills.codemods import CodemodInput, CodemodResult, run_codemod


def dedent(source: str) -> str:
    return textwrap.dedent(source).lstrip("\n")


def apply(name: str, source: str, qualname: str, **extra) -> CodemodResult:
    source = dedent(source)
    result = run_codemod(
        name, CodemodInput(source=source, path="pkg/mod.py", qualname=qualname, **extra)
    )
    ast.parse(result.new_source)  # every result must parse
    return result


def load(source: str, name: str = "pkg.mod") -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102
    return module


def outcome(func, *args, **kwargs):
    """(result, None) or (None, exception type) for one call."""
    try:
        return func(*args, **kwargs), None
    except Exception as exc:  # compared, not swallowed
        return None, type(exc)


def assert_same_behaviour(old_source: str, new_source: str, attr: str, calls) -> None:
    old = load(dedent(old_source))
    new = load(new_source)
    old_func, new_func = old, new
    for part in attr.split("."):
        old_func, new_func = getattr(old_func, part), getattr(new_func, part)
    for args in calls:
        args = args if isinstance(args, tuple) else (args,)
        expected = outcome(old_func, *copy.deepcopy(args))
        assert outcome(new_func, *copy.deepcopy(args)) == expected, args
