"""membership-set: `x in <list or tuple>` in a hot loop -> a frozenset built once.

`in` on a list or tuple compares against every element (O(n) per test, with a full scan for every
miss); a frozenset hashes once (O(1)). Only collections of hashable constants that nothing mutates
are converted, so the answer of every `in` stays the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from skills.codemods._cst import (
    COMPREHENSION_TYPES,
    LOOP_TYPES,
    Parsed,
    Target,
    code,
    finish,
    function_locals,
    is_hashable_constant,
    walk,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.constants import Constants, NotConstant, assigned_value
from skills.codemods.edits import unique_name
from skills.codemods.purity import MUTATING_METHODS, READ_ONLY_CALLEES

MIN_INLINE_ITEMS = 4  # below this a tuple scan is as fast as hashing


@dataclass
class _Plan:
    """The swaps one pass over the function decided on, and what it left alone."""

    taken: set[str]
    constants: Constants
    module_sets: dict[str, str] = field(default_factory=dict)  # module constant -> frozenset
    local_sets: dict = field(default_factory=dict)  # local name -> (its assignment, set name)
    class_sets: dict[str, str] = field(default_factory=dict)  # class attribute -> frozenset
    swaps: dict[cst.CSTNode, cst.CSTNode] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    target = parsed.find_target(data.qualname)
    func = target.func
    bindings = parsed.top_level_bindings()
    plan = _Plan(
        taken=parsed.all_names() | function_locals(func),
        constants=Constants(parsed, data, target),
    )
    for node in walk(func.body):
        if not isinstance(node, cst.ComparisonTarget) or not isinstance(
            node.operator, cst.In | cst.NotIn
        ):
            continue
        collection = node.comparator
        if isinstance(collection, cst.List | cst.Tuple):
            _plan_literal(parsed, func, node, plan)
        elif isinstance(collection, cst.Name):
            _plan_name(parsed, func, node, bindings, plan)
        elif isinstance(collection, cst.Attribute) and target.cls is not None:
            _plan_class_attribute(parsed, node, plan)

    if not plan.swaps:
        raise CodemodRefused(
            "; ".join(plan.refusals)
            or f"{func.name.value} has no `in` test against a constant list or tuple in a loop"
        )
    module = _rewritten_module(parsed, target, bindings, plan)
    summary = (
        f"{func.name.value}: " + "; ".join(plan.notes) + ". Each membership test was a linear scan "
        "(a miss compares against every element); a frozenset answers with one hash lookup."
    )
    if plan.module_sets or plan.class_sets:
        summary += (
            " The frozenset is built once at import from the same constant; the original "
            "list is kept for any other use."
        )
    if plan.refusals:
        summary += " Left alone: " + "; ".join(plan.refusals) + "."
    return finish(data, module, summary, min(plan.lines), max(plan.lines))


def _plan_literal(
    parsed: Parsed, func: cst.FunctionDef, node: cst.ComparisonTarget, plan: _Plan
) -> None:
    """`x in ["a", "b", ...]` in a loop: a set literal of constants (one frozenset constant)."""
    collection = node.comparator
    line = parsed.line(node)
    if not _in_loop(parsed, node, func) or len(collection.elements) < MIN_INLINE_ITEMS:
        return
    if not all(
        not isinstance(e, cst.StarredElement) and is_hashable_constant(e.value)
        for e in collection.elements
    ):
        plan.refusals.append(f"line {line}: the literal holds non-constant or unhashable items")
        return
    elements = [e.with_changes(comma=cst.MaybeSentinel.DEFAULT) for e in collection.elements]
    elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    plan.swaps[collection] = cst.Set(elements=elements, lpar=collection.lpar, rpar=collection.rpar)
    plan.notes.append(f"line {line}: the literal is now a set literal (a constant frozenset)")
    plan.lines.append(line)


def _plan_name(
    parsed: Parsed, func: cst.FunctionDef, node: cst.ComparisonTarget, bindings, plan: _Plan
) -> None:
    """`x in NAME`: a module constant gets a frozenset beside it, a local one before the loop."""
    collection = node.comparator
    name = collection.value
    line = parsed.line(node)
    scope = parsed.scope(collection)
    assignments = list(scope[name]) if scope is not None else []
    if not assignments:
        return
    if all(a.scope is parsed.scope(parsed.module) for a in assignments):
        if name not in plan.module_sets:
            reason = _module_constant_problem(parsed, name, bindings, plan.constants)
            if reason:
                plan.refusals.append(f"line {line}: {reason}")
                return
            set_name = unique_name(f"_{name.lstrip('_').upper()}_SET", plan.taken)
            plan.taken.add(set_name)
            plan.module_sets[name] = set_name
            plan.notes.append(f"line {line}: `in {name}` now tests the frozenset {set_name}")
        plan.swaps[collection] = cst.Name(plan.module_sets[name])
        plan.lines.append(line)
        return
    if not _in_loop(parsed, node, func):
        return
    if name not in plan.local_sets:
        assignment, reason = _local_constant(parsed, func, name, node, plan.constants)
        if reason:
            plan.refusals.append(f"line {line}: {reason}")
            return
        set_name = unique_name(f"{name}_set", plan.taken)
        plan.taken.add(set_name)
        plan.local_sets[name] = (assignment, set_name)
        plan.notes.append(
            f"line {line}: `in {name}` now tests {set_name}, built once before the loop"
        )
    plan.swaps[collection] = cst.Name(plan.local_sets[name][1])
    plan.lines.append(line)


def _plan_class_attribute(parsed: Parsed, node: cst.ComparisonTarget, plan: _Plan) -> None:
    """`x in self.ALLOWED`: a frozenset class attribute beside the constant, read the same way."""
    collection = node.comparator
    attr = collection.attr.value
    line = parsed.line(node)
    if attr not in plan.class_sets:
        try:
            _, bound = plan.constants.class_binding(collection)
            reason = _collection_problem(attr, bound, plan.constants)
        except NotConstant as exc:
            reason = str(exc)
        if reason:
            plan.refusals.append(f"line {line}: {reason}")
            return
        set_name = unique_name(f"_{attr.lstrip('_').upper()}_SET", plan.taken)
        plan.taken.add(set_name)
        plan.class_sets[attr] = set_name
        plan.notes.append(
            f"line {line}: `in {code(collection)}` now tests the frozenset class attribute "
            f"{set_name}"
        )
    plan.swaps[collection] = collection.with_changes(attr=cst.Name(plan.class_sets[attr]))
    plan.lines.append(line)


def _rewritten_module(parsed: Parsed, target: Target, bindings, plan: _Plan) -> cst.Module:
    func = target.func
    new_func = func.visit(_Swap(plan.swaps))
    if plan.local_sets:
        new_func = _insert_local_sets(new_func, func, plan.local_sets)
    if plan.class_sets:
        cls = target.cls
        new_cls = _insert_class_sets(cls.deep_replace(func, new_func), plan.class_sets)
        module = parsed.module.deep_replace(cls, new_cls)
    else:
        module = parsed.module.deep_replace(func, new_func)
    # Module-level frozensets go right after the constant they copy.
    body = list(parsed.module.body)
    for name, set_name in sorted(
        plan.module_sets.items(), key=lambda kv: -body.index(bindings[kv[0]][0])
    ):
        index = body.index(bindings[name][0]) + 1
        stmt = cst.parse_statement(f"{set_name} = frozenset({name})\n")
        module = _insert_after(module, index, stmt)
    return module


def _in_loop(parsed: Parsed, node: cst.CSTNode, func: cst.FunctionDef) -> bool:
    for ancestor in parsed.ancestors(node):
        if ancestor is func:
            return False
        if isinstance(ancestor, LOOP_TYPES + COMPREHENSION_TYPES):
            return True
    return False


def _module_constant_problem(parsed: Parsed, name: str, bindings, constants: Constants) -> str:
    statements = bindings.get(name, [])
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return f"{name} is bound more than once at module level"
    mutation = _mutation(parsed.module, name)
    if mutation:
        return f"{name} is mutated ({mutation}), a frozenset copy would go stale"
    try:
        value = constants.module_binding(name)
    except NotConstant as exc:
        return f"{exc}, a frozenset copy could go stale"
    return _collection_problem(name, value, constants)


def _collection_problem(name: str, value: cst.BaseExpression, constants: Constants) -> str:
    """Why a constant's value is not a list or tuple of hashable items, or ''."""
    if isinstance(value, cst.Set) or (
        isinstance(value, cst.Call) and code(value.func) in ("set", "frozenset")
    ):
        return f"{name} is already a set"
    try:
        items = constants.value(value)
    except NotConstant as exc:
        return f"{name} is not a constant list or tuple ({exc})"
    if isinstance(items, set | frozenset):
        return f"{name} is already a set"
    if not isinstance(items, list | tuple):
        return f"{name} is not a list or tuple"
    try:
        hash(tuple(items))
    except TypeError:
        return f"{name} holds items that are not hashable constants"
    return ""


def _mutation(scope_node: cst.CSTNode, name: str, skip: cst.CSTNode | None = None) -> str:
    """How `name` is mutated or rebound inside scope_node, or '' when it never is."""
    for node in walk(scope_node):
        if node is skip:
            continue
        if isinstance(node, cst.Global | cst.Nonlocal) and name in {
            n.name.value for n in node.names
        }:
            return "declared global in a function"
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and isinstance(node.func.value, cst.Name)
            and node.func.value.value == name
            and node.func.attr.value in MUTATING_METHODS
        ):
            return f"{name}.{node.func.attr.value}()"
        if (
            isinstance(node, cst.Call)
            and any(isinstance(a.value, cst.Name) and a.value.value == name for a in node.args)
            and _callee_name(node) not in READ_ONLY_CALLEES
        ):
            return f"passed to {code(node.func)}(), which might change it"
        if isinstance(node, cst.AugAssign) and _root_name(node.target) == name:
            return f"augmented assignment to {code(node.target)}"
        if isinstance(node, cst.AssignTarget | cst.Del):
            target = node.target
            if isinstance(target, cst.Subscript | cst.Attribute) and _root_name(target) == name:
                return f"assignment to {code(target)}"
    return ""


def _callee_name(call: cst.Call) -> str:
    if isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    return call.func.value if isinstance(call.func, cst.Name) else ""


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Subscript | cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _local_constant(parsed: Parsed, func, name: str, use: cst.CSTNode, constants: Constants):
    """(the assignment statement, '') for a local list/tuple literal assigned once, else reason."""
    scope = parsed.scope(use.comparator)
    assignments = list(scope[name])
    if len(assignments) != 1:
        return None, f"{name} is assigned more than once"
    assigned = assignments[0].node
    statement = parsed.parent(parsed.parent(assigned)) if assigned is not None else None
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None, f"{name} is a parameter or not a plain assignment; its type is unknown"
    problem = _collection_problem(name, statement.value, constants)
    if "already a set" in problem:
        return None, problem
    if problem:
        return None, (
            f"{name} is built at run time, not from constants ({code(statement.value)[:60]}): a "
            "frozenset needs hashable items, which cannot be checked before it runs (a list of "
            "lists would raise TypeError where the scan did not)"
        )
    line = parsed.parent(statement)
    if _in_loop(parsed, line, func):
        return None, f"{name} is built inside a loop"
    if (
        not isinstance(parsed.parent(line), cst.IndentedBlock)
        or parsed.parent(parsed.parent(line)) is not func
    ):
        return None, f"{name} is assigned inside a nested block"
    mutation = _mutation(func.body, name)
    if mutation:
        return None, f"{name} is mutated ({mutation})"
    for node in walk(func.body):
        if (
            isinstance(node, cst.Arg)
            and isinstance(node.value, cst.Name)
            and node.value.value == name
        ):
            return None, f"{name} is passed to a call that might mutate it"
    return line, ""


def _insert_local_sets(
    new_func: cst.FunctionDef, func: cst.FunctionDef, local_sets
) -> cst.FunctionDef:
    original_body = list(func.body.body)
    new_body = list(new_func.body.body)
    for name, (line, set_name) in sorted(
        local_sets.items(), key=lambda kv: -original_body.index(kv[1][0])
    ):
        index = original_body.index(line) + 1
        new_body.insert(index, cst.parse_statement(f"{set_name} = frozenset({name})\n"))
    return new_func.with_changes(body=new_func.body.with_changes(body=new_body))


def _insert_class_sets(cls: cst.ClassDef, class_sets: dict[str, str]) -> cst.ClassDef:
    """Each frozenset directly under the class attribute it copies."""
    body = list(cls.body.body)
    for attr, set_name in class_sets.items():
        index = next(
            i
            for i, stmt in enumerate(body)
            if isinstance(stmt, cst.SimpleStatementLine)
            and any(assigned_value(small, attr) is not None for small in stmt.body)
        )
        new = cst.parse_statement(f"{set_name} = frozenset({attr})\n")
        body.insert(index + 1, new)
    return cls.with_changes(body=cls.body.with_changes(body=body))


def _insert_after(module: cst.Module, index: int, stmt: cst.BaseStatement) -> cst.Module:
    """Directly under the constant it copies, so the two read as one definition."""
    body = list(module.body)
    body.insert(index, stmt.with_changes(leading_lines=[]))
    return module.with_changes(body=body)


class _Swap(cst.CSTTransformer):
    def __init__(self, swaps: dict) -> None:
        self.swaps = swaps

    def on_leave(self, original_node, updated_node):
        return self.swaps.get(original_node, updated_node)
