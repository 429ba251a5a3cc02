"""memoize, the function's body: a cached function must read nothing that changes (mutable
globals, process state) and do nothing besides returning (I/O, logging, writes to what it does
not own), following calls into the module's own functions."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from skills.codemods._cst import Parsed, code, function_locals, walk
from skills.codemods.base import CodemodRefused
from skills.codemods.constants import Constants
from skills.codemods.memoize_arguments import is_mutable_value, parameters
from skills.codemods.purity import (
    EFFECT_METHODS,
    IMMUTABLE_FACTORIES,
    IMPURE_BUILTINS,
    IMPURE_MODULES,
    MUTATING_METHODS,
    PROCESS_STATE,
    PURE_BUILTINS,
    PURE_MODULE_FUNCTIONS,
    process_assumption,
)


@dataclass
class BodyFacts:
    """What reading the body (and the module functions it calls) found, and the repository."""

    constants: Constants
    seen: set[str] = field(default_factory=set)  # functions already read
    # Process-level facts the body reads (platform, interpreter, environment): a cache is right
    # only while they hold, and the summary says so.
    assumptions: set[str] = field(default_factory=set)


def check_body(parsed: Parsed, func: cst.FunctionDef, params, facts: BodyFacts) -> None:
    """Refuse side effects and reads of mutable globals, following calls to module functions."""
    name = func.name.value
    facts.seen.add(name)
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
            _check_call(parsed, func, node, local_names, facts.assumptions)
        if isinstance(node, cst.Attribute) and not _is_callee(parsed, node):
            _check_attribute_read(parsed, func, node, bindings, facts.assumptions)
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
            _check_global_binding(parsed, func, node.value, statement, facts)


def _global_statements(module: cst.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in walk(module):
        if isinstance(node, cst.FunctionDef):
            for inner in walk(node.body):
                if isinstance(inner, cst.Global):
                    for item in inner.names:
                        found.setdefault(item.name.value, node.name.value)
    return found


def _check_global_binding(
    parsed: Parsed, func, global_name: str, statement, facts: BodyFacts
) -> None:
    name = func.name.value
    if isinstance(statement, cst.FunctionDef):
        if global_name not in facts.seen:
            check_body(parsed, statement, parameters(statement, False), facts)
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
        if is_mutable_value(value) and not _inserts_on_read(value):
            changes = facts.constants.module_changes(global_name)
            if changes:
                raise CodemodRefused(
                    f"{name} reads the mutable global {global_name}, which is changed at "
                    f"{changes[0]}: a change to it would not reach cached results"
                )
            continue  # nothing in the repository rebinds or mutates it: a constant
        if is_mutable_value(value):
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


def _inserts_on_read(value: cst.BaseExpression) -> bool:
    """A defaultdict changes when read (a missing key is inserted): never a constant."""
    return isinstance(value, cst.Call) and code(value.func).rsplit(".", 1)[-1] == "defaultdict"


def _check_call(
    parsed: Parsed, func, call: cst.Call, local_names: set[str], assumptions: set[str]
) -> None:
    name = func.name.value
    qualified = set()
    for q in parsed.qualified_names(call.func):
        kind = process_assumption(q)
        if kind is None:
            qualified.add(q)
        else:
            assumptions.add(kind)  # platform.system(), os.getenv(), sys.platform.startswith()
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


def _check_attribute_read(
    parsed: Parsed, func, node: cst.Attribute, bindings, assumptions: set[str]
) -> None:
    name = func.name.value
    for q in parsed.qualified_names(node):
        kind = process_assumption(q)
        if kind is not None:
            assumptions.add(kind)
            continue
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
    return {p.name.value for p in parameters(func, skip_first=False)}


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
