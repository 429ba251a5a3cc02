"""memoize, arguments and results: lru_cache needs hashable arguments, and a cached result is
shared by every later caller, so it must not be a mutable object one of them could change."""

from __future__ import annotations

import re

import libcst as cst

from skills.codemods._cst import COMPREHENSION_TYPES, Parsed, code, walk
from skills.codemods.base import CodemodRefused
from skills.codemods.purity import (
    IMMUTABLE_VALUE_METHODS,
    MAPPING_METHODS,
    MUTABLE_FACTORIES,
    MUTATING_METHODS,
)

# Calls that return a new plain container, by kind: a copy made with the kind's own constructor
# is the same type (a Counter or defaultdict copied with dict() would not be).
FRESH_CONTAINERS = {
    "dict": "dict",
    "list": "list",
    "sorted": "list",
    "set": "set",
    "split": "list",
    "rsplit": "list",
    "splitlines": "list",
}
FRESH_BUILTINS = frozenset({"dict", "list", "sorted", "set"})  # only as builtins, not methods
# Builtins and itertools/functools functions that iterate their positional arguments.
ITERATING_CALLEES = frozenset(
    {
        "iter", "next", "filter", "map", "zip", "enumerate", "list", "tuple", "set", "frozenset",
        "dict", "sorted", "reversed", "sum", "any", "all", "min", "max", "reduce",
        "islice", "chain", "cycle", "tee", "compress", "dropwhile", "takewhile", "filterfalse",
        "groupby", "starmap", "zip_longest", "accumulate", "pairwise", "batched", "product",
        "permutations", "combinations", "combinations_with_replacement",
    }
)  # fmt: skip
# ... and those that call their first positional argument.
CALLING_FIRST_ARGUMENT = frozenset(
    {"filter", "map", "reduce", "dropwhile", "takewhile", "filterfalse", "starmap"}
)
UNHASHABLE_ANNOTATION = re.compile(
    r"^(typing\.)?(list|dict|set|List|Dict|Set|bytearray|MutableMapping|MutableSequence|MutableSet)\b"
)


def own_nodes(func: cst.FunctionDef):
    stack = list(func.body.children)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, cst.FunctionDef | cst.Lambda | cst.ClassDef):
            continue
        stack.extend(node.children)


def parameters(func: cst.FunctionDef, skip_first: bool) -> list[cst.Param]:
    params = func.params
    ordered = [*params.posonly_params, *params.params]
    if skip_first and ordered:
        ordered = ordered[1:]
    ordered += list(params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            ordered.append(star)
    return ordered


def is_mutable_value(node: cst.BaseExpression | None) -> bool:
    if node is None:
        return False
    if isinstance(node, cst.List | cst.Dict | cst.Set | cst.ListComp | cst.DictComp | cst.SetComp):
        return True
    if isinstance(node, cst.Call):
        callee = code(node.func).rsplit(".", 1)[-1]
        return callee in MUTABLE_FACTORIES
    return False


def check_parameters(parsed: Parsed, func: cst.FunctionDef, params: list[cst.Param]) -> None:
    """Refuse parameters that are, or are used as, unhashable or stateful objects."""
    bindings = parsed.top_level_bindings()
    for param in params:
        default = param.default
        if isinstance(default, cst.Name):
            for statement in bindings.get(default.value, []):
                small = (
                    statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
                )
                if isinstance(small, cst.Assign) and is_mutable_value(small.value):
                    raise CodemodRefused(
                        f"parameter {param.name.value} defaults to the mutable global "
                        f"{default.value}: a change to it would not reach cached results, and "
                        "passing such a value explicitly raises TypeError (unhashable)"
                    )
        if is_mutable_value(param.default):
            raise CodemodRefused(
                f"parameter {param.name.value} defaults to {code(param.default)}, which is not "
                "hashable"
            )
        if param.annotation is not None and UNHASHABLE_ANNOTATION.match(
            code(param.annotation.annotation).strip().strip("'\"")
        ):
            raise CodemodRefused(
                f"parameter {param.name.value} is annotated {code(param.annotation.annotation)}, "
                "which is not hashable"
            )
    hashable_annotated = _check_docstring_and_annotations(parsed, func, params)
    _check_argument_use(parsed, func, params, hashable_annotated)


def _check_docstring_and_annotations(
    parsed: Parsed, func: cst.FunctionDef, params: list[cst.Param]
) -> set[str]:
    """Refuse a docstring that speaks of collections; the parameters annotated hashable."""
    docstring = func.get_docstring() or ""
    if re.search(r"(?i)\b(list|dict|dictionary|mapping|set)s?\b", docstring):
        raise CodemodRefused(
            f"the docstring of {func.name.value} speaks of lists/dicts/sets: its arguments are "
            "probably not hashable (lru_cache raises TypeError for them)"
        )
    return {
        p.name.value
        for p in params
        if p.annotation is not None
        and re.match(
            r"^(str|bytes|int|float|bool|tuple|frozenset|Tuple|FrozenSet)\b",
            code(p.annotation.annotation).strip().strip("'\""),
        )
    }


def _check_argument_use(
    parsed: Parsed, func: cst.FunctionDef, params: list[cst.Param], hashable_annotated: set[str]
) -> None:
    """Refuse a body that treats an argument as a collection or as an object with state."""
    names = {p.name.value for p in params}
    for node in walk(func.body):
        if (
            isinstance(node, cst.For | cst.CompFor)
            and isinstance(node.iter, cst.Name)
            and node.iter.value in names - hashable_annotated
        ):
            raise CodemodRefused(
                f"{func.name.value} iterates over its argument {node.iter.value} (line "
                f"{parsed.line(node)}): a collection, most likely a list, which lru_cache cannot "
                "hash (annotate it as tuple or str if it is one)"
            )
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value == "isinstance"
            and len(node.args) == 2
            and isinstance(node.args[0].value, cst.Name)
            and node.args[0].value.value in names
            and re.search(
                r"\b(list|dict|set|bytearray|MutableMapping|MutableSequence)\b",
                code(node.args[1].value),
            )
        ):
            raise CodemodRefused(
                f"{func.name.value} accepts a list/dict/set for {node.args[0].value.value} "
                f"(isinstance check at line {parsed.line(node)}): not hashable"
            )
        _check_argument_state(parsed, func, node, names)
        if isinstance(node, cst.Call):
            _check_consumed_argument(parsed, func, node, names - hashable_annotated)


def _check_consumed_argument(
    parsed: Parsed, func: cst.FunctionDef, call: cst.Call, names: set[str]
) -> None:
    """Refuse an argument handed to a call that iterates it or calls it.

    Iterated, the argument is a collection (a list is unhashable) or an iterator, which the
    first call consumes while the cache, keyed on the same iterator object, answers the next
    call from a stale entry. Called, it is a callback whose purity cannot be checked.
    """
    callee = _builtin_or_itertools(parsed, call.func)
    if callee is None:
        return
    for position, arg in enumerate(call.args):
        if not (isinstance(arg.value, cst.Name) and arg.value.value in names):
            continue
        argument = arg.value.value
        called = (arg.keyword is not None and arg.keyword.value == "key") or (
            arg.keyword is None and position == 0 and callee in CALLING_FIRST_ARGUMENT
        )
        if called:
            raise CodemodRefused(
                f"{func.name.value} passes its argument {argument} to {callee}() as a function "
                f"(line {parsed.line(call)}): a callback whose purity cannot be checked"
            )
        if arg.keyword is None and callee in ITERATING_CALLEES:
            raise CodemodRefused(
                f"{func.name.value} passes its argument {argument} to {callee}(), which "
                f"iterates it (line {parsed.line(call)}): a list there is unhashable, and an "
                "iterator is used up by the first call while the cache, keyed on the same "
                "iterator, would answer the next call from a stale entry (annotate it as tuple, "
                "str or frozenset if it is one)"
            )


def _builtin_or_itertools(parsed: Parsed, func: cst.BaseExpression) -> str | None:
    """`filter` for the builtin filter, `islice` for itertools.islice (however imported)."""
    if not isinstance(func, cst.Name) and not (
        isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
    ):
        return None  # a method of a computed value: `dict(pairs).get`
    for qualified in parsed.qualified_names(func):
        module, _, name = qualified.rpartition(".")
        if module in ("builtins", "itertools", "functools"):
            return name
    if isinstance(func, cst.Name) and not parsed.qualified_names(func):
        return func.value if func.value in ITERATING_CALLEES | CALLING_FIRST_ARGUMENT else None
    return None


def _check_argument_state(parsed: Parsed, func: cst.FunctionDef, node, names: set[str]) -> None:
    """Refuse a method call on, an attribute read of, or a write into an argument."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value in names
    ):
        method = node.func.attr.value
        if method in MUTATING_METHODS:
            raise CodemodRefused(
                f"parameter {node.func.value.value} is mutated with .{method}() at line "
                f"{parsed.line(node)}: it is a mutable (unhashable) argument"
            )
        if method in MAPPING_METHODS:
            raise CodemodRefused(
                f"parameter {node.func.value.value} is used as a dict (.{method}() at line "
                f"{parsed.line(node)}); dicts are not hashable"
            )
        if method not in IMMUTABLE_VALUE_METHODS:
            raise CodemodRefused(
                f"{func.name.value} calls .{method}() on its argument {node.func.value.value} "
                f"(line {parsed.line(node)}): an object whose state may change after its "
                "result is cached"
            )
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value in names
        and not isinstance(parsed.parent(node), cst.Call)
    ):
        raise CodemodRefused(
            f"{func.name.value} reads {code(node)} (line {parsed.line(node)}): the argument is "
            "an object whose attributes may change after its result is cached"
        )
    if isinstance(node, cst.AssignTarget | cst.AugAssign | cst.Del):
        target = node.target
        while isinstance(target, cst.Subscript | cst.Attribute):
            target = target.value
            if isinstance(target, cst.Name) and target.value in names:
                raise CodemodRefused(
                    f"{func.name.value} writes into its argument {target.value} at line "
                    f"{parsed.line(node)}"
                )


def check_call_sites(parsed: Parsed, target, name: str) -> None:
    """Refuse when a caller in this module passes a list, dict or set."""
    for node in walk(parsed.module):
        if not isinstance(node, cst.Call):
            continue
        callee = node.func
        if isinstance(callee, cst.Name):
            if callee.value != name or target.cls is not None:
                continue
        elif isinstance(callee, cst.Attribute):
            if callee.attr.value != name or target.cls is None:
                continue
        else:
            continue
        for arg in node.args:
            problem = _unhashable_argument(parsed, arg.value)
            if problem:
                raise CodemodRefused(
                    f"{name} is called with {problem} at line {parsed.line(node)}; lists, dicts "
                    "and sets are not hashable, so lru_cache would raise TypeError"
                )


def _unhashable_argument(parsed: Parsed, value: cst.BaseExpression) -> str:
    if is_mutable_value(value):
        return code(value) if len(code(value)) < 40 else "a list/dict/set"
    if isinstance(value, COMPREHENSION_TYPES):
        return "a comprehension"
    if isinstance(value, cst.Name):
        scope = parsed.scope(value)
        for assignment in scope[value.value] if scope is not None else ():
            node = getattr(assignment, "node", None)
            parent = parsed.parent(node) if node is not None else None
            statement = parsed.parent(parent) if isinstance(parent, cst.AssignTarget) else None
            if isinstance(statement, cst.Assign) and is_mutable_value(statement.value):
                return f"{value.value} = {code(statement.value)}"
    return ""


def check_return_values(func: cst.FunctionDef) -> str | None:
    """None when no return hands out a new mutable object; "dict", "list" or "set" when every
    path returns a fresh container of that kind whose items are not fresh containers themselves
    (then a snapshot can be cached and a shallow copy returned); otherwise refuse."""
    returns = [n for n in own_nodes(func) if isinstance(n, cst.Return) and n.value is not None]
    if not returns:
        raise CodemodRefused(
            f"{func.name.value} returns nothing: it is run for its effects, which a cache would "
            "skip"
        )
    local_values: dict[str, list[cst.BaseExpression]] = {}
    for node in walk(func.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    local_values.setdefault(target.target.value, []).append(node.value)
    kinds = {_returned_kind(func, ret.value, local_values) for ret in returns}
    if kinds == {None}:
        return None
    value = next(r.value for r in returns if _returned_kind(func, r.value, local_values))
    last = func.body.body[-1] if isinstance(func.body, cst.IndentedBlock) else None
    problem = ""
    if "other" in kinds:
        problem = ""  # not a plain dict, list or set: no copy is known to be the same type
    elif len(kinds) > 1:
        problem = " and something else on another path"
    elif not (isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return)):
        problem = " and may also end without a return"
    else:
        problem = _fresh_items(func, returns, local_values)
    if "other" in kinds or problem:
        raise CodemodRefused(
            f"{func.name.value} returns a new mutable object ({code(value)[:40]}){problem}: a "
            "cached result would be shared by every caller, and one caller's change would leak "
            "into the others"
        )
    return kinds.pop()


def _returned_kind(func, value: cst.BaseExpression, local_values) -> str | None:
    """The kind of a fresh plain container (dict, list, set), "other" for another mutable."""
    if isinstance(value, cst.Name) and value.value in local_values:
        found = {_returned_kind(func, v, {}) for v in local_values[value.value]}
        mutable = found - {None}
        if not mutable:
            return None
        return mutable.pop() if len(found) == 1 and len(mutable) == 1 else "other"
    if isinstance(value, cst.Dict | cst.DictComp):
        return "dict"
    if isinstance(value, cst.List | cst.ListComp):
        return "list"
    if isinstance(value, cst.Set | cst.SetComp):
        return "set"
    if isinstance(value, cst.Call):
        callee = code(value.func).rsplit(".", 1)[-1]
        kind = FRESH_CONTAINERS.get(callee)
        if kind is not None and (callee not in FRESH_BUILTINS or isinstance(value.func, cst.Name)):
            return kind
    return "other" if is_mutable_value(value) else None


def _fresh_items(func, returns, local_values) -> str:
    """Why a shallow copy would share a fresh inner container with the cache, or ''."""
    items: list[cst.BaseExpression] = []
    for ret in returns:
        values = local_values.get(ret.value.value, []) if isinstance(ret.value, cst.Name) else []
        for value in [ret.value, *values]:
            if isinstance(value, cst.Dict):
                items += [e.value for e in value.elements if isinstance(e, cst.DictElement)]
            elif isinstance(value, cst.List | cst.Set):
                items += [e.value for e in value.elements]
            elif isinstance(value, cst.DictComp):
                items.append(value.value)
            elif isinstance(value, cst.ListComp | cst.SetComp):
                items.append(value.elt)
        if isinstance(ret.value, cst.Name):
            items += _items_added(func, ret.value.value)
    for item in items:
        if is_mutable_value(item) or isinstance(item, COMPREHENSION_TYPES):
            return (
                f" whose items are new containers too ({code(item)[:30]}), which a shallow copy "
                "would share"
            )
    return ""


def _items_added(func: cst.FunctionDef, name: str) -> list[cst.BaseExpression]:
    """Values put into a local container: `name[k] = v`, `name.append(v)`, `name.add(v)`."""
    added: list[cst.BaseExpression] = []
    for node in walk(func.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if (
                    isinstance(target.target, cst.Subscript)
                    and isinstance(target.target.value, cst.Name)
                    and target.target.value.value == name
                ):
                    added.append(node.value)
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and isinstance(node.func.value, cst.Name)
            and node.func.value.value == name
        ):
            added += [arg.value for arg in node.args]
    return added
