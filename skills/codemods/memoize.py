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
    COMPREHENSION_TYPES,
    Parsed,
    code,
    ensure_module_alias,
    finish,
    function_locals,
    walk,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.purity import (
    EFFECT_METHODS,
    IMMUTABLE_FACTORIES,
    IMMUTABLE_VALUE_METHODS,
    IMPURE_BUILTINS,
    IMPURE_MODULES,
    MAPPING_METHODS,
    MUTABLE_FACTORIES,
    MUTATING_METHODS,
    PROCESS_STATE,
    PURE_BUILTINS,
    PURE_MODULE_FUNCTIONS,
)

DEFAULT_MAXSIZE = 1024
CACHE_DECORATORS = {"functools.lru_cache", "functools.cache", "functools.cached_property"}
UNHASHABLE_ANNOTATION = re.compile(
    r"^(typing\.)?(list|dict|set|List|Dict|Set|bytearray|MutableMapping|MutableSequence|MutableSet)\b"
)


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    target = parsed.find_target(data.qualname)
    func = target.func
    name = func.name.value

    restored, restored_names = _restored_decorator(data)
    if any(q in CACHE_DECORATORS for d in func.decorators for q in _decorator_names(parsed, d)):
        raise CodemodRefused(f"{name} is already memoized")
    if func.asynchronous is not None:
        raise CodemodRefused(f"{name} is async: lru_cache would cache the coroutine object")
    if any(isinstance(n, cst.Yield) for n in _own_nodes(func)):
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

    params = _parameters(func, skip_first=kind == "class")
    _check_parameters(parsed, func, params)
    _check_body(parsed, func, params, seen=set())
    _check_call_sites(parsed, target, name)
    _check_return_values(func)

    module = parsed.module
    lru_name = parsed.from_import("functools", "lru_cache")
    if lru_name is None:
        module, alias = ensure_module_alias(parsed, module, "functools")
        lru_name = f"{alias}.lru_cache"
    maxsize = _maxsize(data.hint, restored, restored_names)
    # typed=True: f(1) and f(1.0) are cached apart, so a call never gets a result computed for
    # an equal argument of another type (10 for 10.0). A restored cache keeps its own arguments.
    typed = "" if restored is not None else ", typed=True"
    arguments = f"maxsize={maxsize}{typed}"
    decorator = cst.Decorator(decorator=cst.parse_expression(f"{lru_name}({arguments})"))
    new_func = func.with_changes(decorators=[*func.decorators, decorator])
    module = module.deep_replace(func, new_func)
    line = parsed.line(func.decorators[0]) if func.decorators else parsed.line(func)
    def_line = parsed.line(func.name)
    why = (
        "the root-cause commit removed this cache; it is restored"
        if restored
        else f"{name} is pure (it reads only its arguments and immutable module constants, and "
        "has no side effects) and its arguments are hashable"
    )
    summary = (
        f"{name} (line {def_line}) is now decorated with @{lru_name}({arguments}): {why}. "
        "Repeated calls with the same arguments return the cached result instead of recomputing "
        f"it; the cache holds at most {maxsize} distinct argument tuples. Callers must pass "
        "hashable arguments (lru_cache raises TypeError for a list or dict); every caller in this "
        "module does."
    )
    return finish(data, module, summary, line, def_line)


def _own_nodes(func: cst.FunctionDef):
    stack = list(func.body.children)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, cst.FunctionDef | cst.Lambda | cst.ClassDef):
            continue
        stack.extend(node.children)


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


def _parameters(func: cst.FunctionDef, skip_first: bool) -> list[cst.Param]:
    params = func.params
    ordered = [*params.posonly_params, *params.params]
    if skip_first and ordered:
        ordered = ordered[1:]
    ordered += list(params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            ordered.append(star)
    return ordered


def _is_mutable_value(node: cst.BaseExpression | None) -> bool:
    if node is None:
        return False
    if isinstance(node, cst.List | cst.Dict | cst.Set | cst.ListComp | cst.DictComp | cst.SetComp):
        return True
    if isinstance(node, cst.Call):
        callee = code(node.func).rsplit(".", 1)[-1]
        return callee in MUTABLE_FACTORIES
    return False


def _check_parameters(parsed: Parsed, func: cst.FunctionDef, params: list[cst.Param]) -> None:
    names = {p.name.value for p in params}
    bindings = parsed.top_level_bindings()
    for param in params:
        default = param.default
        if isinstance(default, cst.Name):
            for statement in bindings.get(default.value, []):
                small = (
                    statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
                )
                if isinstance(small, cst.Assign) and _is_mutable_value(small.value):
                    raise CodemodRefused(
                        f"parameter {param.name.value} defaults to the mutable global "
                        f"{default.value}: a change to it would not reach cached results, and "
                        "passing such a value explicitly raises TypeError (unhashable)"
                    )
        if _is_mutable_value(param.default):
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
    docstring = func.get_docstring() or ""
    if re.search(r"(?i)\b(list|dict|dictionary|mapping|set)s?\b", docstring):
        raise CodemodRefused(
            f"the docstring of {func.name.value} speaks of lists/dicts/sets: its arguments are "
            "probably not hashable (lru_cache raises TypeError for them)"
        )
    hashable_annotated = {
        p.name.value
        for p in params
        if p.annotation is not None
        and re.match(
            r"^(str|bytes|int|float|bool|tuple|frozenset|Tuple|FrozenSet)\b",
            code(p.annotation.annotation).strip().strip("'\""),
        )
    }
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


def _check_body(parsed: Parsed, func: cst.FunctionDef, params, seen: set[str]) -> None:
    """Refuse side effects and reads of mutable globals, following calls to module functions."""
    name = func.name.value
    seen.add(name)
    local_names = function_locals(func)
    module_scope = parsed.scope(parsed.module)
    bindings = parsed.top_level_bindings()
    globals_declared = _global_statements(parsed.module)
    for node in walk(func.body):
        if isinstance(node, cst.Global | cst.Nonlocal):
            raise CodemodRefused(f"{name} declares {code(node).strip()}: it rebinds outer state")
        if isinstance(node, cst.Await | cst.Yield):
            raise CodemodRefused(f"{name} awaits or yields")
        if isinstance(node, cst.Call):
            _check_call(parsed, func, node, local_names)
        if isinstance(node, cst.Attribute) and not _is_callee(parsed, node):
            _check_attribute_read(parsed, func, node, bindings)
        if isinstance(node, cst.AssignTarget | cst.AugAssign | cst.Del):
            root = node.target
            while isinstance(root, cst.Subscript | cst.Attribute):
                root = root.value
            if (
                isinstance(root, cst.Name)
                and root.value not in local_names
                and root is not node.target
            ):
                raise CodemodRefused(
                    f"{name} writes into {code(node.target)} at line {parsed.line(node)}, which "
                    "it does not own"
                )
        if not isinstance(node, cst.Name) or not parsed.is_load(node):
            continue
        scope = parsed.scope(node)
        if scope is None or node.value in local_names:
            continue
        assignments = list(scope[node.value])
        if not assignments or not all(a.scope is module_scope for a in assignments):
            continue
        if node.value in globals_declared:
            raise CodemodRefused(
                f"{name} reads the global {node.value}, which is rebound at run time "
                f"(`global {node.value}` in {globals_declared[node.value]})"
            )
        for statement in bindings.get(node.value, []):
            _check_global_binding(parsed, func, node.value, statement, seen)


def _global_statements(module: cst.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in walk(module):
        if isinstance(node, cst.FunctionDef):
            for inner in walk(node.body):
                if isinstance(inner, cst.Global):
                    for item in inner.names:
                        found.setdefault(item.name.value, node.name.value)
    return found


def _check_global_binding(parsed: Parsed, func, global_name: str, statement, seen) -> None:
    name = func.name.value
    if isinstance(statement, cst.FunctionDef):
        if global_name not in seen:
            _check_body(parsed, statement, _parameters(statement, False), seen)
        return
    if isinstance(statement, cst.ClassDef):
        return
    if not isinstance(statement, cst.SimpleStatementLine):
        raise CodemodRefused(
            f"{name} reads the global {global_name}, bound inside a compound statement"
        )
    for small in statement.body:
        if isinstance(small, cst.Import | cst.ImportFrom):
            return
        value = getattr(small, "value", None)
        if isinstance(small, cst.AugAssign):
            raise CodemodRefused(
                f"{name} reads the global {global_name}, which is updated in place"
            )
        if value is None:
            continue
        if _is_mutable_value(value):
            kind = {
                cst.List: "a list",
                cst.Dict: "a dict",
                cst.Set: "a set",
                cst.ListComp: "a list",
                cst.DictComp: "a dict",
                cst.SetComp: "a set",
            }.get(type(value), f"{code(value.func) if isinstance(value, cst.Call) else ''}()")
            raise CodemodRefused(
                f"{name} reads the mutable global {global_name} ({kind}, line "
                f"{parsed.line(statement)}): a change to it would not reach cached results"
            )
        if isinstance(value, cst.Call):
            callee = code(value.func).rsplit(".", 1)[-1]
            if callee not in IMMUTABLE_FACTORIES:
                raise CodemodRefused(
                    f"{name} reads the global {global_name}, bound to the result of "
                    f"{code(value.func)}(), which may be a mutable object"
                )


def _check_call(parsed: Parsed, func, call: cst.Call, local_names: set[str]) -> None:
    name = func.name.value
    qualified = parsed.qualified_names(call.func)
    line = parsed.line(call)
    if isinstance(call.func, cst.Name) and call.func.value in _parameter_names(func):
        raise CodemodRefused(
            f"{name} calls its argument {call.func.value}() at line {line}: a callback whose "
            "purity cannot be checked"
        )
    module_prefix = parsed.path.removesuffix(".py").replace("/", ".") + "."
    for q in qualified:
        if q.startswith("builtins."):
            builtin = q.removeprefix("builtins.")
            if builtin not in PURE_BUILTINS and builtin[:1].islower():
                raise CodemodRefused(
                    f"{name} calls {builtin}() at line {line}: not a known pure builtin"
                )
            continue
        if q.startswith((module_prefix, "<locals>")) or "." not in q:
            continue  # defined in this module (functions are checked in turn) or local
        if isinstance(call.func, cst.Attribute) and not _is_module_reference(parsed, call.func):
            continue  # a method call: judged below by its receiver
        if not q.startswith(PURE_MODULE_FUNCTIONS):
            raise CodemodRefused(
                f"{name} calls {q} at line {line}: a function from another module whose purity "
                "cannot be checked here"
            )
    for q in qualified:
        bare = q.removeprefix("builtins.")
        if (bare in IMPURE_BUILTINS and "." not in bare) or (
            q.startswith(IMPURE_MODULES) and not q.startswith(PURE_MODULE_FUNCTIONS)
        ):
            raise CodemodRefused(
                f"{name} calls {q} at line {line}: a side effect or a changing value"
            )
    if (
        isinstance(call.func, cst.Name)
        and call.func.value in IMPURE_BUILTINS
        and call.func.value not in local_names
    ):
        raise CodemodRefused(f"{name} calls {call.func.value}() at line {line}: a side effect")
    if isinstance(call.func, cst.Attribute):
        method = call.func.attr.value
        receiver = call.func.value
        while isinstance(receiver, cst.Attribute | cst.Subscript | cst.Call):
            receiver = receiver.value if not isinstance(receiver, cst.Call) else receiver.func
        owned = isinstance(receiver, cst.Name) and receiver.value in local_names
        if method in EFFECT_METHODS:
            raise CodemodRefused(f"{name} calls .{method}() at line {line}: a side effect")
        if method in MUTATING_METHODS and not owned:
            raise CodemodRefused(
                f"{name} mutates {code(call.func.value)} with .{method}() at line {line}"
            )


def _is_callee(parsed: Parsed, node: cst.CSTNode) -> bool:
    parent = parsed.parent(node)
    return isinstance(parent, cst.Call) and parent.func is node


def _check_attribute_read(parsed: Parsed, func, node: cst.Attribute, bindings) -> None:
    name = func.name.value
    for q in parsed.qualified_names(node):
        if q.startswith(PROCESS_STATE):
            raise CodemodRefused(
                f"{name} reads {q} (line {parsed.line(node)}): process state that can change "
                "between calls"
            )
    if isinstance(node.value, cst.Name) and parsed.is_load(node.value):
        for statement in bindings.get(node.value.value, []):
            if isinstance(statement, cst.ClassDef) and not isinstance(
                parsed.parent(node), cst.Attribute
            ):
                raise CodemodRefused(
                    f"{name} reads the class attribute {code(node)} (line {parsed.line(node)}), "
                    "which can be reassigned at run time"
                )


def _parameter_names(func: cst.FunctionDef) -> set[str]:
    return {p.name.value for p in _parameters(func, skip_first=False)}


def _is_module_reference(parsed: Parsed, node: cst.Attribute) -> bool:
    """`math.floor` or `os.path.join`: the root name is an imported module, not an object."""
    root = node.value
    while isinstance(root, cst.Attribute):
        root = root.value
    if not isinstance(root, cst.Name):
        return False
    for statement in parsed.top_level_bindings().get(root.value, []):
        if isinstance(statement, cst.SimpleStatementLine) and isinstance(
            statement.body[0], cst.Import | cst.ImportFrom
        ):
            return True
    return False


def _check_call_sites(parsed: Parsed, target, name: str) -> None:
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
    if _is_mutable_value(value):
        return code(value) if len(code(value)) < 40 else "a list/dict/set"
    if isinstance(value, COMPREHENSION_TYPES):
        return "a comprehension"
    if isinstance(value, cst.Name):
        scope = parsed.scope(value)
        for assignment in scope[value.value] if scope is not None else ():
            node = getattr(assignment, "node", None)
            parent = parsed.parent(node) if node is not None else None
            statement = parsed.parent(parent) if isinstance(parent, cst.AssignTarget) else None
            if isinstance(statement, cst.Assign) and _is_mutable_value(statement.value):
                return f"{value.value} = {code(statement.value)}"
    return ""


def _check_return_values(func: cst.FunctionDef) -> None:
    returns = [n for n in _own_nodes(func) if isinstance(n, cst.Return) and n.value is not None]
    if not returns:
        raise CodemodRefused(
            f"{func.name.value} returns nothing: it is run for its effects, which a cache would "
            "skip"
        )
    mutable_locals = set()
    for node in walk(func.body):
        if isinstance(node, cst.Assign) and _is_mutable_value(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    mutable_locals.add(target.target.value)
    for node in _own_nodes(func):
        if isinstance(node, cst.Return) and node.value is not None:
            value = node.value
            if _is_mutable_value(value) or (
                isinstance(value, cst.Name) and value.value in mutable_locals
            ):
                raise CodemodRefused(
                    f"{func.name.value} returns a new mutable object ({code(value)[:40]}): a "
                    "cached result would be shared by every caller, and one caller's change "
                    "would leak into the others"
                )


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
