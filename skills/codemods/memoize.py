"""memoize: a pure function with hashable arguments called again and again -> functools.lru_cache.

A cache is only correct when the result depends on nothing but the arguments and the call has no
effect besides returning it; and the arguments must be hashable. This codemod proves what it can
from the source (module globals, side-effect calls, parameter use, call sites in the module,
mutable return values) and refuses with the reason when one check fails.
"""

from __future__ import annotations

import re

import libcst as cst

from skills.codemods._cst import (
    Parsed,
    code,
    finish,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.constants import Constants
from skills.codemods.edits import ensure_module_alias
from skills.codemods.memoize_arguments import (
    check_call_sites,
    check_parameters,
    check_return_values,
    own_nodes,
    parameters,
)
from skills.codemods.memoize_body import BodyFacts, check_body
from skills.codemods.memoize_snapshot import SNAPSHOT, snapshot_and_copy

DEFAULT_MAXSIZE = 1024
CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property"}


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    target = parsed.find_target(data.qualname)
    func = target.func
    name = func.name.value
    restored, restored_names = _restored_decorator(data)
    kind = _refuse_unfit(parsed, target)
    params = parameters(func, skip_first=kind == "class")
    check_parameters(parsed, func, params)
    facts = BodyFacts(constants=Constants(parsed, data, target))
    check_body(parsed, func, params, facts)
    check_call_sites(parsed, target, name)
    container = check_return_values(func)
    environ_writes = facts.constants.index.environ_writes
    if "environment" in facts.assumptions and environ_writes:
        raise CodemodRefused(
            f"{name} reads the environment, which the program changes ({environ_writes[0]}): a "
            "cached result would not see the change"
        )
    if container and (target.cls is not None or func.decorators):
        raise CodemodRefused(
            f"{name} returns a new {container} that callers may change; the snapshot-and-copy "
            "form is made for undecorated module-level functions only"
        )

    # Without arguments the lookup hashes nothing; a restored cache was someone's decision.
    cheap = _constant_time(func) if params and not container and restored is None else ""
    if cheap:
        raise CodemodRefused(
            f"{name} does only constant-time work ({cheap}, no loop and no other call): "
            "looking its arguments up in a cache costs about as much as running it, so a "
            "cache saves nothing (and would keep up to its size of argument objects alive)"
        )

    decorator_text = _cache_decorator(parsed, data, bool(params), restored, restored_names)
    module = parsed.module
    decorator = cst.Decorator(decorator=cst.parse_expression(decorator_text))
    line = parsed.line(func.decorators[0]) if func.decorators else parsed.line(func)
    def_line = parsed.line(func.name)
    if container:
        module, snapshot = snapshot_and_copy(parsed, module, target, container, decorator)
        copy = SNAPSHOT[container][1].format("...")
        cached = (
            f"{name} (line {def_line}) returns a new {container} that callers may change, so its "
            f"body moves to {snapshot}, decorated with @{decorator_text}, which caches an "
            f"immutable snapshot ({SNAPSHOT[container][2]}); {name} "
            f"returns a shallow copy, {copy}, so every caller still gets a {container} of its own"
        )
    else:
        new_func = func.with_changes(decorators=[*func.decorators, decorator])
        module = module.deep_replace(func, new_func)
        cached = f"{name} (line {def_line}) is now decorated with @{decorator_text}"
    if decorator_text.startswith("functools."):
        # After the function is replaced: a new import may reflow the statement below it.
        module, _ = ensure_module_alias(parsed, module, "functools")
    summary = _summary(name, cached, decorator_text, restored, bool(params), facts.assumptions)
    return finish(data, module, summary, line, def_line)


def _refuse_unfit(parsed: Parsed, target) -> str:
    """The function's kind (function, static, class); refuse what no cache can serve."""
    func = target.func
    name = func.name.value
    if any(q in CACHE_DECORATORS for d in func.decorators for q in _decorator_names(parsed, d)):
        raise CodemodRefused(f"{name} is already memoized")
    if func.asynchronous is not None:
        raise CodemodRefused(f"{name} is async: lru_cache would cache the coroutine object")
    if any(isinstance(n, cst.Yield) for n in own_nodes(func)):
        raise CodemodRefused(
            f"{name} is a generator: a cached generator is exhausted after one use"
        )
    if any(isinstance(a, cst.FunctionDef) for a in parsed.ancestors(func)):
        raise CodemodRefused(
            f"{name} is defined inside another function: it is created anew on every call of "
            "its parent, so its cache would start empty each time (and could capture changing "
            "variables of the parent)"
        )
    kind = _method_kind(parsed, target)
    if kind == "instance":
        raise CodemodRefused(
            f"{name} is an instance method: lru_cache would key on self (needs a hashable self "
            "whose state never changes) and keep every instance alive; move the pure part to a "
            "module-level function or a staticmethod and cache that"
        )
    return kind


# Calls that take constant time (or about it, on the short strings they usually see).
CONSTANT_TIME_CALLS = frozenset(
    {"isinstance", "issubclass", "type", "callable", "hasattr", "id", "bool", "ord", "chr"}
    | {"startswith", "endswith", "isdigit", "isalpha", "isspace", "isupper", "islower"}
)


def _constant_time(func: cst.FunctionDef) -> str:
    """The calls of a body with no loop, comprehension or call beyond CONSTANT_TIME_CALLS
    (e.g. 'isinstance()'), or '' when it does more."""
    calls: list[str] = []
    for node in own_nodes(func):
        if isinstance(node, cst.For | cst.While | cst.ListComp | cst.SetComp | cst.DictComp):
            return ""
        if isinstance(node, cst.GeneratorExp | cst.Lambda | cst.FunctionDef):
            return ""
        if isinstance(node, cst.Call):
            callee = node.func
            called = callee.attr.value if isinstance(callee, cst.Attribute) else code(callee)
            if called not in CONSTANT_TIME_CALLS:
                return ""
            calls.append(f"{called}()")
    return ", ".join(sorted(set(calls))) or "arithmetic and comparisons only"


def _cache_decorator(
    parsed: Parsed, data: CodemodInput, has_arguments: bool, restored, restored_names
) -> str:
    """The decorator's text; `functools.` when the module must import functools."""
    unbounded = not has_arguments and restored is None and "maxsize" not in data.hint
    wanted = "cache" if unbounded else "lru_cache"
    local = parsed.from_import("functools", wanted)
    if local is None:
        local = f"{parsed.module_import('functools') or 'functools'}.{wanted}"
    if unbounded:
        # One result for the process: no size to bound and no argument types to tell apart.
        return local
    maxsize = _maxsize(data.hint, restored, restored_names)
    # typed=True: f(1) and f(1.0) are cached apart, so a call never gets a result computed for
    # an equal argument of another type (10 for 10.0). A restored cache keeps its own arguments.
    typed = "" if restored is not None else ", typed=True"
    return f"{local}(maxsize={maxsize}{typed})"


def _summary(
    name: str, cached: str, decorator: str, restored, has_arguments: bool, assumptions: set[str]
) -> str:
    why = (
        "the root-cause commit removed this cache; it is restored"
        if restored
        else f"{name} is pure (it reads only its arguments and constants nothing in the "
        "repository changes, and has no side effects)"
        + (" and its arguments are hashable" if has_arguments else "")
    )
    if has_arguments:
        size = re.search(r"maxsize=(\w+)", decorator)
        reuse = (
            "Repeated calls with the same arguments return the cached result instead of "
            f"recomputing it; the cache holds at most {size.group(1) if size else 128} distinct "
            "argument tuples. Callers must pass hashable arguments (lru_cache raises TypeError "
            "for a list or dict); every caller in this module does."
        )
    else:
        reuse = "It takes no arguments: it is computed once per process, on the first call."
    summary = f"{cached}: {why}. {reuse}"
    if assumptions:
        described = [ASSUMPTIONS[kind] for kind in sorted(assumptions)]
        summary += " The cache assumes " + "; and ".join(described) + "."
    return summary


ASSUMPTIONS = {
    "environment": (
        "the environment variables it reads do not change while the process runs (nothing in "
        "the repository writes os.environ)"
    ),
    "interpreter": (
        "the interpreter it reads (version, implementation, limits) is that of the running "
        "process, which cannot change"
    ),
    "platform": (
        "the platform it reads (operating system, machine, separators) is that of the running "
        "process, which cannot change"
    ),
}


def _decorator_names(parsed: Parsed, decorator: cst.Decorator) -> set[str]:
    expression = decorator.decorator
    if isinstance(expression, cst.Call):
        expression = expression.func
    return parsed.qualified_names(expression) | {code(expression)}


def _method_kind(parsed: Parsed, target) -> str:
    if target.cls is None:
        return "function"
    names = set()
    for decorator in target.func.decorators:
        names |= _decorator_names(parsed, decorator)
    if names & {"staticmethod", "builtins.staticmethod"}:
        return "static"
    if names & {"classmethod", "builtins.classmethod"}:
        return "class"
    if names & {"property", "builtins.property"}:
        return "instance"
    return "instance"


def _restored_decorator(data: CodemodInput) -> tuple[cst.Decorator | None, set[str]]:
    """The cache decorator the root-cause commit removed from this function, if it did."""
    if not data.root_cause_before:
        return None, set()
    try:
        before = Parsed(data.root_cause_before, data.path)
        old = before.find_target(data.qualname).func
    except CodemodRefused:
        return None, set()
    for decorator in old.decorators:
        names = _decorator_names(before, decorator)
        if names & CACHE_DECORATORS:
            return decorator, names
    return None, set()


def _maxsize(hint: str, restored: cst.Decorator | None, restored_names: set[str]) -> str:
    match = re.search(r"maxsize\s*=\s*(\d+|None)", hint)
    if match:
        return match.group(1)
    if restored is not None and isinstance(restored.decorator, cst.Call):
        for arg in restored.decorator.args:
            if arg.keyword is not None and arg.keyword.value == "maxsize":
                return code(arg.value)
            if arg.keyword is None:
                return code(arg.value)
        return "128"  # lru_cache() default
    if restored is not None:
        # @functools.cache is unbounded; a bare @lru_cache has lru_cache's default size.
        return "None" if "functools.cache" in restored_names else "128"
    return str(DEFAULT_MAXSIZE)
