"""The seed skills, as plain data: the data migration writes them, tests and docs read them.

Keep this module free of Django imports so a migration can import it. Changing a text here does
not change a database that already ran the migration: edit skills in the admin (each edit makes a
new SkillVersion), and add a new data migration when a seed must change everywhere.

Over 500 lines because it is seed data: each skill's triggers, prompt and checklist in full.
"""

from __future__ import annotations

from typing import Any

from skills.catalog_idioms import IDIOM_SKILLS

_PY = ["*.py"]


def _trigger(
    kinds: list[str],
    code_patterns: list[str],
    *,
    needs_root_cause: bool = False,
    symbol_pattern: str = "",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kinds": kinds,
        "metrics": ["cpu"],
        "file_globs": _PY,
        "symbol_pattern": symbol_pattern,
        "needs_root_cause": needs_root_cause,
        "code_patterns": code_patterns,
        **extra,
    }


_BOTH = ["regression", "opportunity"]

# The triggers of the diagnosis-only skills: each is offered only when its own patterns appear in
# the finding's functions or what they call (skills.selection; issue #12 item 1).
# A lock acquired, a condition wait, a sleep, or a spin (a while loop whose body is only
# pass/continue). Creating a lock is not waiting on one: `self.lock = Lock()` in a constructor
# made more-concurrent_tee's `__init__` look like contention (issue #12 item 1), so only taking
# it (`with lock:`, `.acquire()`) counts, in the function or what it calls.
LOCK_PATTERNS = [
    r"\.acquire\(",
    r"\bwith\s+[\w.]*(?i:lock|mutex|cond|condition|sem|semaphore)\s*(:|,|as\b)",
    r"\.(wait|wait_for)\(",
    r"\bsleep\(",
    r"\bwhile\b[^\n]*:\s*\n\s*(pass|continue)\b",
]
# A query or remote call, searched only inside loops (code_scope "loop"): one per item.
QUERY_PATTERNS = [
    r"\.objects\.(get|filter|exclude|get_or_create|create|count)\(",
    r"\.(execute|executemany|fetchone|fetchall|fetchmany)\(",
    r"\bsession\.(query|get|execute|scalar|scalars)\(",
    r"\b(requests|httpx|session|client)\.(get|post|put|patch|delete|request)\(",
]
# An encoder or decoder call, or a model's own to/from dict.
SERIALIZATION_PATTERNS = [
    r"\bjson\.(dumps|loads|dump|load)\(",
    r"\b(pickle|marshal|msgpack|orjson|ujson|yaml|cbor2?)\.\w+\(",
    r"\.(to_dict|from_dict|to_json|from_json|as_dict|model_dump|SerializeToString|ParseFromString)\(",
    r"\b(dataclasses\.)?asdict\(",
]

SEED_SKILLS: list[dict[str, Any]] = [
    {
        "slug": "logging-sampling",
        "name": "Lazy or guarded debug logging in a hot path",
        "side": "both",
        "description": (
            "A debug/info log call in a hot loop builds its message (f-string, %-format, "
            ".format, repr) even when the level is disabled."
        ),
        "trigger": _trigger(
            _BOTH,
            [
                r"\.(debug|info)\(\s*f[\"']",
                r"\.(debug|info)\([^)]*%\s*\(",
                r"\.(debug|info)\([^)]*\.format\(",
                r"\.(debug|info)\([^)]*repr\(",
                r"^\s*print\(",
            ],
        ),
        "instructions": """\
## When this applies
A function on the hot path calls `logger.debug(...)` (or `info`) with a message that is formatted
before the call: an f-string, `"..." % (...)`, `"...".format(...)` or a `repr()`/`json.dumps()`
argument. Logging checks the level *inside* the call, so with DEBUG off in production the
formatting work is pure waste, paid once per iteration.

## Diagnosis
1. `get_function` on the finding's symbol; note every call whose receiver is a logger. Loggers
   hide under many names: `log`, `logger`, `_LOG`, `self.log`, anything assigned from
   `logging.getLogger(...)` (check with `outline_file` / `read_file` for the module-level
   assignment).
2. For a regression, `root_cause_commit` shows whether the commit *added* the log line (the usual
   story: "log each record to chase a bug"). `blame` on the line confirms who and when.
3. Check the arguments: names and subscripts are cheap; calls (`repr(x)`, `to_json()`) are not.
4. `search_code` for `assertLogs` in the tests: the record must still be emitted with DEBUG on,
   with the same text.

## What to propose
- f-string or `%` with a tuple and cheap values: pass the values as arguments
  (`log.debug("billed %r at %.7f", record, price)`); logging formats only when a handler emits.
- Expensive arguments, `.format()`, or a message that cannot be translated to `%` placeholders
  (`{x:>10}`, `{x=}`): guard the statement with `if log.isEnabledFor(logging.DEBUG):`.
- `print` of debug output in a hot path is not a logging call: report it; changing it to a log
  call changes what users see and needs the owner's agreement.
""",
        "mitigation": """\
Codemod `logging-sampling`: converts f-string / `%`-tuple messages with cheap values into lazy
`%`-style arguments (format specs like `.2f` are kept; `!r` becomes `%r`; literal `%` is
escaped), and otherwise wraps the call in `if <logger>.isEnabledFor(logging.<LEVEL>):` (adding
`import logging` when missing, honouring an alias). The record text with DEBUG on is unchanged.
""",
        "codemod": "logging-sampling",
        "expected_recovery": 0.8,
        "owner": "observability",
    },
    {
        "slug": "memoize",
        "name": "Memoize a pure function with functools.lru_cache",
        "side": "both",
        "description": (
            "A pure function with hashable arguments is called again and again with the same "
            "inputs; cache its results (or restore a cache a commit removed)."
        ),
        "trigger": _trigger(
            _BOTH,
            [r"^\s*for .+ in .+:", r"lru_cache|functools\.cache"],
        ),
        "instructions": """\
## When this applies
The finding's function recomputes the same answer for a small set of distinct inputs: a table
scan, a parse of a constant, a lookup derived from configuration. Typical sign: the caller calls
it once per line/item with arguments that repeat (`tax_rate(country, region, line.category)`).

## Diagnosis
1. `get_function` on the symbol. The function must be **pure**: its result depends only on its
   arguments and on immutable module constants (tuples, frozensets, strings, numbers).
   `outline_file` / `read_file` on the module to check every global it reads: a module-level
   list or dict, or a name rebound with `global`, disqualifies it (a cache would serve stale
   answers).
2. No side effects: no I/O, `print`, logging, `random`/`time`/`uuid`, no mutation of its
   arguments or of globals. A logger call inside is a side effect: caching would drop it.
3. Arguments must be hashable: `search_code` for the function's callers; if any passes a list,
   dict or set (`sorted(...)`, a list literal, a comprehension), `lru_cache` raises TypeError.
   Parameters used with `.append`, `.items()`, or defaulting to `[]`/`{}` are a no.
4. The result must not be mutated by callers: a function returning a fresh list or dict cannot
   be cached (every caller would share one object).
5. Instance methods: do not cache on `self` (it keys on the instance and keeps it alive); a
   staticmethod or classmethod is fine, or extract a module-level pure helper.
6. For a regression, `root_cause_commit` and `file_at_revision` at the parent: if the commit
   removed an `@lru_cache`, restore it with its original `maxsize`.

## What to propose
`@functools.lru_cache(maxsize=...)` as the innermost decorator; size it for the number of
distinct inputs seen in production (default 1024, bounded, so memory cannot grow without limit).
""",
        "mitigation": """\
Codemod `memoize`: adds `@functools.lru_cache(maxsize=1024, typed=True)` (or `@lru_cache` /
`@ft.lru_cache` as the module imports it; `import functools` added when missing) under any
existing decorator, after proving purity (only known-pure callees, no process state, no class
attributes, no mutable globals), hashable arguments at every call site in the module, and no
mutable return value. When the root-cause commit removed a cache, it is restored as it was.
""",
        "codemod": "memoize",
        "expected_recovery": 0.6,
        "owner": "platform-performance",
    },
    {
        "slug": "precompile-regex",
        "name": "Precompile a constant regular expression",
        "side": "both",
        "description": (
            "re.match/search/sub/findall/fullmatch/split called with a constant pattern in a hot "
            "function: compile it once at module level."
        ),
        "trigger": _trigger(
            _BOTH,
            [r"\bre\.(match|search|fullmatch|sub|subn|findall|finditer|split)\("],
        ),
        "instructions": """\
## When this applies
`re.fullmatch(PATTERN, text, flags)` (or match/search/sub/subn/findall/finditer/split) runs per
item in a hot function. Each call goes through `re._compile`: it hashes the pattern text and the
flags (RegexFlag enums, whose `|` is itself a Python call) to find the compiled pattern in a
bounded cache; with many patterns in play it even recompiles.

## Diagnosis
1. `get_function` on the symbol; list the `re.*` calls. `import re as _re` or
   `from re import fullmatch` are the same calls under other names.
2. The pattern must be constant: a string literal or a module constant assigned once. A pattern
   built from arguments (`re.match(prefix + r"\\d+", s)`) cannot be compiled at import.
3. The flags must be constant too (`re.IGNORECASE | re.VERBOSE`, a module constant).
4. For a regression, `root_cause_commit` usually shows a module-level `_X_RE = re.compile(...)`
   replaced by an inline call (often while changing the pattern): `file_at_revision` at the
   parent shows the old shape.
5. Mind the argument mapping: `re.sub(p, repl, s, count, flags)` becomes
   `P.sub(repl, s, count)` and `re.split(p, s, maxsplit, flags)` becomes `P.split(s, maxsplit)`;
   the flags go to `re.compile`.

## What to propose
A module-level `_NAME_RE = re.compile(pattern, flags)` placed before the function (after any
constant it uses), and `_NAME_RE.<method>(...)` in the function.
""",
        "mitigation": """\
Codemod `precompile-regex`: moves each constant pattern (literal or module constant) and its
constant flags into a module-level `re.compile`, rewrites the call to the compiled pattern's
method with the remaining arguments in order (count/maxsplit kept), reuses one constant for
repeated patterns, and refuses runtime-built patterns or flags.
""",
        "codemod": "precompile-regex",
        "expected_recovery": 0.5,
        "owner": "platform-performance",
    },
    {
        "slug": "hoist-loop-invariant",
        "name": "Hoist a loop-invariant computation out of the loop",
        "side": "both",
        "description": (
            "An expensive pure expression inside a loop (or comprehension) does not depend on "
            "the loop: compute it once before the loop."
        ),
        "trigger": _trigger(
            _BOTH,
            [
                r"statistics\.\w+\(",
                r"^\s+(for|while)\b[\s\S]*\b(sorted|sum|max|min|len)\(",
                r"\bfor\b.+\bin\b.+\b(sorted|sum|max|min|len)\(",
            ],
        ),
        "instructions": """\
## When this applies
Inside a `for`/`while` body or a comprehension, a call such as `statistics.median(baseline)`,
`sorted(xs)`, `sum(xs)`, `max(xs)` or `", ".join(names)` recomputes the same value on every
iteration because nothing it reads changes in the loop. Often it is buried in a larger
expression (`limit = statistics.median(baseline_ms) * overrides.get(endpoint, factor)`): only the
invariant part moves.

## Diagnosis
1. `get_function`; for each call in a loop list the names it reads. None may be the loop target,
   assigned in the loop, or mutated there (`.append`, item/attribute assignment, passed to a
   function that might change it, `self.x` while `self.method()` runs in the loop).
2. The call must be pure (no I/O, no randomness, not a method on an unknown object).
3. For a regression, `root_cause_commit` typically shows the computation moved *into* the loop
   while adding a feature (a per-item override): `file_at_revision` at the parent has it
   outside. The root cause need not be HEAD: `git_log` on the file shows later commits.
4. Zero-iteration safety: hoisting evaluates the call even when the loop runs zero times or
   skips the call (`continue` before it). `statistics.median([])`, `max([])` raise: compute them
   behind a test of the argument (`median_xs = statistics.median(xs) if xs else None`) or
   refuse. `len`, `sum`, `sorted` cannot raise on a well-typed argument.
5. Nested loops: hoist to the outermost loop the expression is invariant in.

## What to propose
A well-named local before the loop (`median_baseline_ms = statistics.median(baseline_ms)`), and
the loop using it. Fresh mutable results (`sorted(...)`) only when the loop merely reads them.
""",
        "mitigation": """\
Codemod `hoist-loop-invariant`: finds calls to known-pure functions (builtins, `statistics.*`,
str methods) inside loops and comprehensions whose inputs the loop neither assigns nor may
mutate, hoists each to the outermost loop it is invariant in, guards calls that raise on empty
input with a test of their argument, and refuses anything else with the reason.
""",
        "codemod": "hoist-loop-invariant",
        "expected_recovery": 0.6,
        "owner": "platform-performance",
    },
    {
        "slug": "membership-set",
        "name": "Membership tests against a set instead of a list",
        "side": "both",
        "description": (
            "`x in LIST_OR_TUPLE` against a constant or loop-invariant collection in a loop: "
            "test a frozenset instead."
        ),
        "trigger": _trigger(_BOTH, [r"\bnot in [A-Z_][A-Z0-9_]+\b", r"\bin [A-Z_][A-Z0-9_]+\b"]),
        "instructions": """\
## When this applies
`word in STOPWORDS` where `STOPWORDS` is a list or tuple (a constant, a literal in the loop, or
a local built once) inside a loop: every test scans the collection, and every miss compares
against every element. With 100+ items this dominates the loop.

## Diagnosis
1. `get_function`; find `in` / `not in` tests inside loops and comprehensions.
2. `outline_file` / `read_file` for the collection's definition: it must be a list or tuple
   literal of hashable constants (strings, numbers, tuples of those).
3. `search_code` for the collection's name across the repository: if anything appends to it,
   assigns into it or rebinds it at run time, a frozenset copy would go stale: do not convert.
4. The tested values must be hashable (they are usually strings from a tokenizer).

## What to propose
A module-level `_STOPWORDS_SET = frozenset(STOPWORDS)` right after the constant (keep the list
for other users), and the test against the set. An inline literal becomes a set literal (Python
compiles it to a constant frozenset). A local list becomes `names_set = frozenset(names)`
before the loop.
""",
        "mitigation": """\
Codemod `membership-set`: converts `in` tests against module-level list/tuple constants of
hashable literals (never mutated in the module) to a module-level frozenset, inline literals in
loops to set literals, and local literal lists to a frozenset built once; refuses mutated or
unhashable collections and parameters of unknown type.
""",
        "codemod": "membership-set",
        "expected_recovery": 0.7,
        "owner": "search-platform",
    },
    {
        "slug": "string-join",
        "name": "Build strings and bytes with a list and one join",
        "side": "both",
        "description": (
            "`s += piece` building a str or bytes in a loop: collect the pieces in a list and "
            "join once."
        ),
        "trigger": _trigger(
            _BOTH,
            [r"=\s*b?[\"']{2}\s*$", r"\+=\s*(b?[\"']|f[\"']|str\(|[\w.]+\()"],
        ),
        "instructions": """\
## When this applies
A loop grows a string or bytes object with `s += piece` (or `s = s + piece`). Every `+=` on
bytes copies everything built so far: quadratic in the output size. CPython extends a plain
local `str` in place when nothing else references it, so the str case is slow mainly when `s`
is an attribute, a dict/list item, or has another reference; bytes are always copied.

## Diagnosis
1. `get_function`; find the accumulator and its initial value (`body = b""` tells bytes from
   str).
2. Inside the loop `s` may only be appended to: if the loop reads it (`len(s)`, passes it to a
   call, returns it), the partial value must exist each iteration: do not convert.
3. Check what happens after the loop: every later use must see the joined value.
4. For a regression, `root_cause_commit` often shows a list+join replaced by `+=` while adding
   a filter or a counter.

## What to propose
`s_parts = []` instead of the initial value (or `[initial]`), `s_parts.append(piece)` in the
loop, and `s = b"".join(s_parts)` (or `"".join`) right after the loop.
""",
        "mitigation": """\
Codemod `string-join`: rewrites a local str/bytes accumulator into a list of pieces and one join
after the loop, keeping an initial value, nested loops and other statements in the loop; refuses
when the accumulator is read inside the loop, escapes into a nested function, is reassigned
there, or its type (str or bytes) cannot be told from its initial value.
""",
        "codemod": "string-join",
        "expected_recovery": 0.7,
        "owner": "platform-performance",
    },
    {
        "slug": "revert-hunk",
        "name": "Revert the root-cause change inside the regressed function",
        "side": "defense",
        "description": (
            "Regressions, as a fallback: undo the root-cause commit's change inside the regressed "
            "function only."
        ),
        "trigger": _trigger(["regression"], [], needs_root_cause=True, fallback=True),
        "instructions": """\
## When this applies
A regression whose root-cause commit changed the regressed function, when no specific skill
fixes it (the rewrite is not one of the known shapes, or the specific codemods refused).
Example: a `bisect` replaced by a hand-written linear count "for readability".

## Diagnosis
1. `root_cause_commit` with the finding's commit: read the diff of the regressed function and
   the commit message (it may also add a feature that must be kept: then this skill is wrong,
   prefer a specific one or an analysis).
2. `file_at_revision` at `<commit>^` for the file: the function's old body.
3. `git_log` on the file: if a later commit edited the same function, a revert would undo that
   work too: do not revert.
4. Check that what the old version calls still exists (`outline_file` at HEAD): a removed helper
   or import must come back with it.
5. `search_code` for the tests of the function: the old version must still pass tests the commit
   added.

## What to propose
The function's definition from the parent of the root-cause commit, in place of the current one,
nothing else in the file.
""",
        "mitigation": """\
Codemod `revert-hunk`: replaces the function with its definition at `root_cause^` when HEAD's
definition equals the root-cause commit's (no later edits), re-adds an `import` the same commit
removed, and refuses when the function is new, was edited later, or the old version refers to
names that no longer exist.
""",
        "codemod": "revert-hunk",
        "expected_recovery": 0.9,
        "owner": "platform-performance",
    },
    # Diagnosis-only skills: the solver returns an analysis, never a diff.
    {
        "slug": "serialization-schema-change",
        "name": "Serialization cost after a schema change",
        "side": "defense",
        "description": (
            "A serialization function got slower: look for a recent schema or format change "
            "(new fields, nested objects, a different encoder)."
        ),
        "trigger": _trigger(
            ["regression"],
            SERIALIZATION_PATTERNS,
            symbol_pattern=r"(?i)(serial|encode|decode|dump|load|schema|to_dict|payload)",
            code_scope="function",
        ),
        "instructions": """\
## When this applies
A regression in a function that serializes or deserializes (JSON, pickle, protobuf, msgpack,
`to_dict`/`from_dict`, API payloads) when the code of the function itself barely changed.

## Diagnosis
1. `root_cause_commit`: did the commit change a schema, a dataclass, a model's fields, an
   encoder's options (`indent=`, `sort_keys=`, `default=`), or switch libraries?
2. `git_log` on the schema/model files near the function (`search_code` for the class it
   serializes): a new nested object or list field multiplies the work per record.
3. `blame` the encoder call and the schema definition; `file_at_revision` at the parent to
   compare payload shapes.
4. Estimate the size change per record (fields before/after) against the measured slowdown.

## Output
An analysis, no diff: which change grew the payload or the work per record, the likely fix
(drop or lazy-load the new field, cache the encoded form, a faster encoder, `sort_keys=False`),
and who should decide (the schema owner).
""",
        "mitigation": "Diagnosis only: the fix is a schema or product decision for its owner.",
        "codemod": "",
        "expected_recovery": 0.3,
        "owner": "data-platform",
    },
    {
        "slug": "n-plus-one-queries",
        "name": "N+1 queries in a loop",
        "side": "both",
        "description": (
            "A loop issues one database query (or remote call) per item: batch it, prefetch it, "
            "or join."
        ),
        "trigger": _trigger(
            _BOTH,
            QUERY_PATTERNS,
            code_scope="loop",
        ),
        "instructions": """\
## When this applies
CPU (and latency) spent in the database driver or ORM inside a loop: `Model.objects.get(...)`
per item, attribute access to a foreign key per row, `cursor.execute` per id, an HTTP call per
element.

## Diagnosis
1. `get_function`; find queries or remote calls inside loops, including hidden ones (a related
   object's attribute in a template-like loop, a property that queries).
2. `search_code` for the model and its relations; `outline_file` on the models module.
3. For a regression, `root_cause_commit`: a new field read in the loop, or a removed
   `select_related`/`prefetch_related`, is the usual cause.

## Output
An analysis, no diff: which query repeats, how many times per request, and the batched form
(`select_related`, `prefetch_related`, `filter(id__in=...)` then a dict lookup, a bulk API).
""",
        "mitigation": "Diagnosis only: batching changes queries and needs a human to check them.",
        "codemod": "",
        "expected_recovery": 0.4,
        "owner": "platform-performance",
    },
    {
        "slug": "lock-contention",
        "name": "Lock contention or busy waiting",
        "side": "both",
        "description": (
            "CPU burned around a lock: work done while holding it, spinning, or polling with "
            "short sleeps."
        ),
        "trigger": _trigger(
            _BOTH,
            LOCK_PATTERNS,
            code_scope="function",
        ),
        "instructions": """\
## When this applies
A function holds a lock while doing expensive work, spins on a condition, or polls with short
sleeps, so CPU grows with the number of threads rather than with the work.

## Diagnosis
1. `get_function`; mark what runs inside `with lock:` blocks and in `while` loops that wait.
2. `search_code` for the same lock's other users: the critical sections must stay correct.
3. For a regression, `root_cause_commit`: work moved inside the lock, a condition variable
   replaced by polling, or a lock added around a hot path.

## Output
An analysis, no diff: the critical section and what can move out of it, or the event/condition
that should replace polling. Concurrency changes need a human review of every interleaving.
""",
        "mitigation": "Diagnosis only: concurrency changes are never applied automatically.",
        "codemod": "",
        "expected_recovery": 0.3,
        "owner": "platform-performance",
    },
]
SEED_SKILLS += IDIOM_SKILLS

# The fields whose change makes a new SkillVersion (proposals pin the version they used): the
# one list, here because this module is Django-free and the seed migration reads it too.
VERSIONED_FIELDS = (
    "name",
    "side",
    "description",
    "trigger",
    "instructions",
    "mitigation",
    "codemod",
    "expected_recovery",
)
