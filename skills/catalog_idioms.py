"""Seed skills for general CPython idioms, as plain data (skills.catalog appends them).

Kept apart from skills/catalog.py, which is over 500 lines of seed data already. Like it, this
module has no Django import, so a migration can read it.
"""

from __future__ import annotations

from typing import Any


def _trigger(code_patterns: list[str], *, code_scope: str = "any") -> dict[str, Any]:
    return {
        "kinds": ["regression", "opportunity"],
        "metrics": ["cpu"],
        "file_globs": ["*.py"],
        "symbol_pattern": "",
        "needs_root_cause": False,
        "code_patterns": code_patterns,
        "code_scope": code_scope,
    }


GUARD_DICT_LOOKUP: dict[str, Any] = {
    "slug": "guard-dict-lookup",
    "name": "Test a dict for a key instead of catching KeyError in a loop",
    "side": "both",
    "description": (
        "A loop looks a key up in a dict inside `try`/`except KeyError`: every miss builds, "
        "raises and catches an exception. Testing `key in d` first costs one hash lookup."
    ),
    "trigger": _trigger([r"except\s*\(?[\w\s,]*\b(KeyError|LookupError)\b"], code_scope="loop"),
    "instructions": """\
## When this applies
In a loop, `try: v = d[key] ... except KeyError: <handle the miss>` where many keys are missing
(a join, a lookup of optional entries, a cache that is often cold). Raising and catching an
exception is tens of times the cost of a dict lookup, so the misses dominate the loop.

## Diagnosis
1. `get_function`; find the `try` in the loop and the lookup it guards. The lookup must be the
   first thing the `try` evaluates, and the key a name or a constant.
2. Check what `d` is: `in` agrees with `d[key]` only for a plain `dict` (or `OrderedDict`).
   A `defaultdict`, a `Counter` or any class with `__missing__` never raises on `d[key]`; a
   repository's own mapping class may implement `__contains__` differently.
3. Read the handler: it runs outside `except` after the change, so it must not re-raise, name
   the exception, or read it (`logger.exception`, `traceback.print_exc`, `sys.exc_info()`).

## What to propose
`if key in d:` around the unchanged `try` (which still handles a KeyError raised by the rest of
the block), and `else:` the handler's code. On Python 3.11+ a `try` that raises nothing is free.
""",
    "mitigation": """\
Codemod `guard-dict-lookup`: for a `try` in a loop whose body starts with `v = d[k]`,
`for x in d[k]:` or `return d[k]` and whose only handler catches KeyError/LookupError, wraps the
`try` in `if k in d:` with the handler's code as the `else:` branch. `d` must be a local bound
only to dict displays, comprehensions, `dict(...)`, `OrderedDict(...)` or the call of a function
of the same module whose every return is one of those; it refuses handlers that re-raise, name
or read the exception, and keys that are not a name or a constant.
""",
    "codemod": "guard-dict-lookup",
    "expected_recovery": 0.6,
    "owner": "platform-performance",
}

MAP_OVER_GENERATOR: dict[str, Any] = {
    "slug": "map-over-generator",
    "name": "map() with operator callables instead of a generator expression",
    "side": "both",
    "description": (
        "A generator expression that only takes an attribute, a key, a unary operator or a "
        "function of each item, handed to sum/list/chain/...: map() with "
        "operator.attrgetter/itemgetter/neg or the function loops in C."
    ),
    "trigger": _trigger([r"\(\s*[-~+]?\s*(not\s+)?[\w.\[\]\"'()]+\s+for\s+\w+\s+in\b"]),
    "instructions": """\
## When this applies
A hot function feeds a consumer (`sum`, `list`, `sorted`, `any`, `itertools.chain`, `math.fsum`,
`"".join`) with generator expressions such as `(p.real for p in values)`,
`(-p.imag for p in values)`, `(row[0] for row in rows)` or `(str(x) for x in xs)`. Each item
resumes the generator's Python frame; `map(attrgetter("real"), values)` does the same work in C.

## Diagnosis
1. `get_function`; find generator expressions with one `for` over a plain name and no `if`,
   passed straight to a function that only iterates them (never `.send()`/`.throw()`).
2. The element must be a chain of attribute access, constant subscript, unary operator or a
   call of a stable function on the loop variable. A function looked up by name must not be
   rebound while the generator runs (a builtin nobody shadows, a module function nothing
   rebinds). A private `__name` inside a class is mangled by the compiler: leave it.
3. Check the `operator` names are free in the module before importing them.

## What to propose
`map(attrgetter("a"), xs)`, `map(itemgetter(0), rows)`, `map(neg, map(attrgetter("imag"), v))`,
`map(str, xs)`, with `from operator import ...` next to the module's imports.
""",
    "mitigation": """\
Codemod `map-over-generator`: rewrites generator expressions passed to builtins, itertools
functions, `math.fsum`/`prod` and `"sep".join` whose element is up to three steps of attribute,
constant key, unary operator or stable function on the loop variable into nested `map()` calls,
importing `attrgetter`/`itemgetter`/`neg`/`pos`/`invert`/`not_` from `operator` (or reusing the
module's import), and refuses `if` clauses, several `for`s, local or rebound functions, private
names in classes and operator names the module already uses for something else.
""",
    "codemod": "map-over-generator",
    "expected_recovery": 0.5,
    "owner": "platform-performance",
}

INLINE_TRIVIAL_HELPER: dict[str, Any] = {
    "slug": "inline-trivial-helper",
    "name": "Inline a one-line helper into the hot function",
    "side": "both",
    "description": (
        "The hot function calls a helper of its own module whose body is one `return` of an "
        "expression: the Python call costs more than the work. The expression goes in place."
    ),
    # No code pattern: a call of a one-line helper is not visible in text; the codemod decides.
    "trigger": _trigger([]),
    "instructions": """\
## When this applies
A function on the hot path, called very often on small inputs, calls helpers such as
`def drop(n, seq): return itertools.islice(seq, n, None)` or
`def ilen(it): return sum(compress(repeat(1), zip(it)))`. Each call builds a frame, binds the
arguments and returns: for a one-line body that is most of the cost.

## Diagnosis
1. `get_function`; for each call of a plain name, `outline_file`/`read_file` the module: the
   helper must be a module-level `def` of the same module, one `return` (a docstring aside),
   no decorator, no `*args`/`**kwargs`, constant defaults.
2. `search_code` for the helper's name across the repository: nothing may rebind or patch it
   (`mock.patch("pkg.mod.helper")` in the tests would stop reaching this caller).
3. Arguments are evaluated before the body: an argument with an effect must be read exactly
   once, unconditionally and in the call's order, with only pure steps before it. A free name of
   the expression must not be a local of the caller.

## What to propose
The helper's expression in place of the call, its parameters replaced by the arguments
(parenthesised where precedence needs it); the helper itself stays for its other callers.
""",
    "mitigation": """\
Codemod `inline-trivial-helper`: replaces calls (in the function's own body) of module-level
one-`return` helpers of the same module with their expression, up to three levels of helpers
calling helpers; refuses helpers rebound anywhere in the repository, decorated or with `*args`,
expressions with lambdas/comprehensions/walrus/frame access, free names the caller shadows, and
arguments whose effects would run in another order, more than once or not at all.
""",
    "codemod": "inline-trivial-helper",
    "expected_recovery": 0.4,
    "owner": "platform-performance",
}

IDIOM_SKILLS: list[dict[str, Any]] = [GUARD_DICT_LOOKUP, MAP_OVER_GENERATOR, INLINE_TRIVIAL_HELPER]


def seed_missing(apps, slugs: list[str]) -> None:
    """A data migration's step: create the named idiom skills where absent, with version 1.

    An existing skill with the same slug is left alone (an admin's edits win), as in 0003.
    """
    from skills.catalog import VERSIONED_FIELDS

    Skill = apps.get_model("skills", "Skill")
    SkillVersion = apps.get_model("skills", "SkillVersion")
    for seed in IDIOM_SKILLS:
        if seed["slug"] not in slugs or Skill.objects.filter(slug=seed["slug"]).exists():
            continue
        skill = Skill.objects.create(**seed)
        if not SkillVersion.objects.filter(skill=skill).exists():
            SkillVersion.objects.create(
                skill=skill, number=1, **{field: seed[field] for field in VERSIONED_FIELDS}
            )
