"""hoist-loop-invariant: a pure call in a loop that does not depend on it -> computed once.

A call is hoisted only when (1) the callee is a known pure function (builtins such as len, sorted,
sum, max/min; statistics.*; str methods), (2) none of the names it reads is assigned in the loop,
is the loop's target, or may be mutated there (mutating methods, item/attribute assignment, being
passed to an unknown call), and (3) evaluating it early cannot raise where the original did not.

About (3): hoisting moves the call from "each time the loop body reaches it" to "once before the
loop". When the loop runs zero times, or every iteration skips the call (a `continue` before it),
the original never evaluated it. statistics.median/mean/..., max and min raise on an empty
argument, so they are hoisted behind a conditional on the argument
(`median_xs = statistics.median(xs) if xs else None`): an empty argument is never evaluated early,
so a loop that never reached the call still returns normally. Calls that cannot raise on a
well-typed argument (len, sum, sorted, tuple, any/all, str methods) are hoisted as they are.
"""

from __future__ import annotations

import libcst as cst

from skills.codemods._cst import (
    COMPREHENSION_TYPES,
    LOOP_TYPES,
    Parsed,
    bound_by,
    code,
    finish,
    function_locals,
    target_names,
    walk,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.edits import unique_name
from skills.codemods.purity import (
    HOISTABLE_BUILTINS,
    MUTABLE_FACTORIES,
    MUTATING_METHODS,
    RAISE_ON_EMPTY,
    READ_ONLY_CALLEES,
    STATISTICS_RAISE_ON_EMPTY,
    STR_METHODS,
)


class _Plan:
    def __init__(self, call, loop, name, kind):
        self.call = call
        self.loop = loop
        self.name = name
        self.kind = kind  # "safe" | "guarded"


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    func = parsed.find_target(data.qualname).func
    plans, refusals = _plan_hoists(parsed, func)
    if not plans:
        raise CodemodRefused(
            "; ".join(refusals)
            or f"{func.name.value} has no pure call inside a loop that does not depend on the loop"
        )
    swaps = {plan.call: cst.Name(plan.name) for plan in plans}
    new_func = func.visit(_Apply(swaps, _inserts(parsed, func, plans)))
    module = parsed.module.deep_replace(func, new_func)
    lines = [parsed.line(p.call) for p in plans] + [parsed.line(p.loop) for p in plans]
    described = "; ".join(
        f"{code(p.call)} at line {parsed.line(p.call)} -> {p.name}, computed once before the "
        f"loop at line {parsed.line(_anchor_statement(parsed, p.loop, func))}"
        + (
            " (only when its argument is non-empty: it raises on an empty one, and the loop may "
            "never have reached it)"
            if p.kind == "guarded"
            else ""
        )
        for p in _unique(plans)
    )
    summary = (
        f"{func.name.value}: {described}. Its inputs are not changed inside the loop, so every "
        "iteration computed the same value; now it is computed once instead of once per "
        "iteration."
    )
    if refusals:
        summary += " Left alone: " + "; ".join(refusals) + "."
    return finish(data, module, summary, min(lines), max(parsed.line(p.call) for p in plans))


def _plan_hoists(parsed: Parsed, func: cst.FunctionDef) -> tuple[list[_Plan], list[str]]:
    """Every pure, loop-invariant call to hoist (outermost first), and the reasons for the rest."""
    taken = function_locals(func) | parsed.all_names()
    plans: list[_Plan] = []
    by_code: dict[tuple[str, int], str] = {}
    refusals: list[str] = []
    covered: set[int] = set()
    for node in walk(func.body):
        if id(node) in covered or not isinstance(node, cst.Call):
            continue
        kind = _call_kind(parsed, node)
        if kind is None:
            continue
        chosen, refusal = _outermost_invariant_loop(parsed, node, func, kind)
        if refusal is None and chosen is not None:
            guarded, refusal = _guard_for(parsed, node, kind)
        if refusal:
            refusals.append(f"line {parsed.line(node)}: {code(node)} {refusal}")
        if refusal is not None or chosen is None:
            continue
        key = (code(node), id(chosen))
        if key not in by_code:
            name = unique_name(_name_for(node), taken)
            taken.add(name)
            by_code[key] = name
        plans.append(_Plan(node, chosen, by_code[key], "guarded" if guarded else "safe"))
        covered |= {id(n) for n in walk(node)}
    return plans, refusals


def _outermost_invariant_loop(
    parsed: Parsed, call: cst.Call, func: cst.FunctionDef, kind: str
) -> tuple[cst.CSTNode | None, str | None]:
    """(the outermost loop the call does not depend on, None), or (None, why not or '')."""
    loops = _enclosing_loops(parsed, call, func)
    chosen = None
    reason = ""
    for loop in loops:  # innermost first
        problem = _variance(parsed, call, loop, func)
        if problem:
            reason = problem
            break
        chosen = loop
    if chosen is None:
        return None, reason if reason and kind != "method" else ""
    if _fresh_mutable(call) and not _read_only_use(parsed, call):
        return None, (
            "makes a new mutable object that the loop may change, so one shared copy is not "
            "equivalent"
        )
    return chosen, None


def _guard_for(parsed: Parsed, call: cst.Call, kind: str) -> tuple[bool, str | None]:
    """(whether the hoisted value needs an `if argument` guard, None) or (False, why not)."""
    guarded = kind == "raises-on-empty"
    if guarded:
        args = [a for a in call.args if a.keyword is None]
        if len(args) != 1 or not isinstance(args[0].value, cst.Name | cst.Attribute):
            return False, (
                "may raise and its argument cannot be tested cheaply; hoisting could raise where "
                "the loop never reached the call"
            )
        if any(a.keyword is not None and a.keyword.value == "default" for a in call.args):
            guarded = False
    return guarded, None


def _inserts(
    parsed: Parsed, func: cst.FunctionDef, plans: list[_Plan]
) -> dict[cst.CSTNode, list[tuple[cst.CSTNode, cst.BaseStatement]]]:
    """block -> (anchor statement, the assignment to put before it), once per value and loop."""
    inserts: dict[cst.CSTNode, list[tuple[cst.CSTNode, cst.BaseStatement]]] = {}
    done: set[tuple[str, int]] = set()
    for plan in plans:
        key = (code(plan.call), id(plan.loop))
        if key in done:
            continue
        done.add(key)
        anchor = _anchor_statement(parsed, plan.loop, func)
        block = parsed.parent(anchor)
        expression = code(plan.call.with_changes(lpar=[], rpar=[]))
        if plan.kind == "guarded":
            argument = code([a for a in plan.call.args if a.keyword is None][0].value)
            text = f"{plan.name} = {expression} if {argument} else None"
        else:
            text = f"{plan.name} = {expression}"
        inserts.setdefault(block, []).append((anchor, cst.parse_statement(text + "\n")))
    return inserts


def _unique(plans: list[_Plan]) -> list[_Plan]:
    seen: set[str] = set()
    out = []
    for plan in plans:
        if plan.name not in seen:
            seen.add(plan.name)
            out.append(plan)
    return out


def _call_kind(parsed: Parsed, call: cst.Call) -> str | None:
    if any(isinstance(a.value, cst.Lambda) or a.star for a in call.args):
        return None
    for qualified in parsed.qualified_names(call.func):
        module, _, attr = qualified.rpartition(".")
        if module == "builtins" and attr in HOISTABLE_BUILTINS:
            return "safe"
        if module == "builtins" and attr in RAISE_ON_EMPTY:
            return "raises-on-empty"
        if module == "statistics" and attr in STATISTICS_RAISE_ON_EMPTY:
            return "raises-on-empty"
    if (
        isinstance(call.func, cst.Name)
        and call.func.value in HOISTABLE_BUILTINS | RAISE_ON_EMPTY
        and not parsed.qualified_names(call.func)
    ):
        return "safe" if call.func.value in HOISTABLE_BUILTINS else "raises-on-empty"
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in STR_METHODS:
        receiver = call.func.value
        if isinstance(receiver, cst.SimpleString | cst.Name | cst.Attribute):
            return "method"
        if isinstance(receiver, cst.Call) and _call_kind(parsed, receiver) == "method":
            return "method"  # needle.strip().lower()
    return None


def _fresh_mutable(call: cst.Call) -> bool:
    if isinstance(call.func, cst.Name):
        return call.func.value in MUTABLE_FACTORIES
    return isinstance(call.func, cst.Attribute) and call.func.attr.value in MUTABLE_FACTORIES


def _read_only_use(parsed: Parsed, call: cst.Call) -> bool:
    parent = parsed.parent(call)
    if isinstance(parent, cst.For | cst.CompFor) and parent.iter is call:
        return True
    if isinstance(parent, cst.ComparisonTarget) and isinstance(parent.operator, cst.In | cst.NotIn):
        return True
    if isinstance(parent, cst.Subscript) and parent.value is call:
        return True
    if isinstance(parent, cst.Arg):
        consumer = parsed.parent(parent)
        if isinstance(consumer, cst.Call):
            callee = consumer.func
            callee_name = callee.attr.value if isinstance(callee, cst.Attribute) else code(callee)
            return callee_name in READ_ONLY_CALLEES
    return False


def _enclosing_loops(parsed: Parsed, node: cst.CSTNode, func) -> list[cst.CSTNode]:
    """Loops (innermost first) whose every iteration evaluates `node` anew."""
    loops = []
    child = node
    for ancestor in parsed.ancestors(node):
        if ancestor is func:
            return loops
        if isinstance(ancestor, cst.FunctionDef | cst.Lambda | cst.ClassDef):
            return []
        if isinstance(ancestor, cst.Try | cst.TryStar | cst.With) and child is ancestor.body:
            # An except (or a context manager) here may handle what the call raises: it must
            # stay inside, so no loop further out is a candidate.
            return loops
        if isinstance(ancestor, cst.For):
            if child is ancestor.body:
                loops.append(ancestor)
        elif isinstance(ancestor, cst.While):
            if child is ancestor.body or child is ancestor.test:
                loops.append(ancestor)
        elif isinstance(ancestor, COMPREHENSION_TYPES):  # noqa: SIM102
            # The outermost iterable is evaluated once, outside the comprehension.
            if not _within(parsed, node, ancestor.for_in.iter):
                if isinstance(ancestor, cst.GeneratorExp) and not isinstance(
                    parsed.parent(ancestor), cst.Arg
                ):
                    return []  # a lazy generator may run after its inputs changed
                loops.append(ancestor)
        child = ancestor
    return loops


def _within(parsed: Parsed, node: cst.CSTNode, container: cst.CSTNode) -> bool:
    return node is container or any(a is container for a in parsed.ancestors(node))


def _loop_bound_names(loop: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    for node in walk(loop):
        names.update(bound_by(node))
        if isinstance(node, cst.Del):
            names.update(target_names(node.target))
        elif isinstance(node, cst.Global | cst.Nonlocal):
            names.update(n.name.value for n in node.names)
    return names


def _root(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute | cst.Subscript | cst.Call):
        node = node.func if isinstance(node, cst.Call) else node.value
    return node.value if isinstance(node, cst.Name) else None


def _variance(parsed: Parsed, call: cst.Call, loop: cst.CSTNode, func) -> str:
    """Why `call` is not invariant in `loop`, or '' when it is."""
    used = {n.value for n in walk(call) if isinstance(n, cst.Name)}
    if isinstance(call.func, cst.Attribute):
        used.discard(call.func.attr.value)
    for node in walk(call):
        if isinstance(node, cst.Attribute):
            used.discard(node.attr.value)
        if isinstance(node, cst.Arg) and node.keyword is not None:
            used.discard(node.keyword.value)
    bound = _loop_bound_names(loop) & used
    if bound:
        return f"depends on {', '.join(sorted(bound))}, which the loop assigns"
    # A second name for the same object could be mutated in the loop without us seeing it.
    for node in walk(func.body):
        if (
            isinstance(node, cst.Assign | cst.AnnAssign)
            and isinstance(node.value, cst.Name)
            and node.value.value in used
        ):
            return f"reads {node.value.value}, which has another name (line {parsed.line(node)})"
    call_ids = {id(n) for n in walk(call)}
    module_scope = parsed.scope(parsed.module)
    unknown_calls = False
    for node in walk(loop):
        if id(node) in call_ids:
            continue
        if isinstance(node, cst.Call):
            root = _root(node.func)
            method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
            if (
                root in used
                and (method in MUTATING_METHODS or _attribute_chain(node.func))
                and method not in STR_METHODS
                and method not in ("get", "count", "index")
            ):
                return f"reads {root}, which the loop may change through .{method}()"
            for arg in node.args:
                if _root(arg.value) in used and _call_kind(parsed, node) is None:
                    return (
                        f"reads {_root(arg.value)}, which the loop passes to {code(node.func)}(), "
                        "which might change it"
                    )
            if _call_kind(parsed, node) is None:
                unknown_calls = True
        if isinstance(node, cst.AssignTarget | cst.AugAssign | cst.Del):
            target = node.target
            if isinstance(target, cst.Subscript | cst.Attribute) and _root(target) in used:
                return f"reads {_root(target)}, which the loop modifies ({code(target)})"
    if unknown_calls:
        for node in walk(call):
            if not isinstance(node, cst.Name):
                continue
            scope = parsed.scope(node)
            if scope is None:
                continue
            assignments = list(scope[node.value])
            if (
                assignments
                and all(a.scope is module_scope for a in assignments)
                and _mutable_global(parsed, node.value)
            ):
                return f"reads the mutable global {node.value}, which a call in the loop may change"
    return ""


def _attribute_chain(func: cst.BaseExpression) -> bool:
    """self.helper() style calls: the receiver's state may change."""
    return isinstance(func, cst.Attribute) and func.attr.value not in STR_METHODS


def _mutable_global(parsed: Parsed, name: str) -> bool:
    for statement in parsed.top_level_bindings().get(name, []):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                value = getattr(small, "value", None)
                if isinstance(value, cst.List | cst.Dict | cst.Set | cst.Call):
                    return True
    return False


def _anchor_statement(parsed: Parsed, loop: cst.CSTNode, func) -> cst.CSTNode:
    """The statement, directly in a block of the function, before which the value is computed."""
    if isinstance(loop, LOOP_TYPES) and isinstance(parsed.parent(loop), cst.IndentedBlock):
        return loop
    current = loop
    for ancestor in parsed.ancestors(loop):
        if isinstance(ancestor, cst.IndentedBlock) and isinstance(current, cst.BaseStatement):
            return current
        current = ancestor
    raise CodemodRefused("could not find a statement to compute the value before")


def _name_for(call: cst.Call) -> str:
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in STR_METHODS:
        verb = call.func.attr.value
        subject = _short(call.func.value)
        if verb == "join":
            subject = _short(call.args[0].value) if call.args else subject
            return f"joined_{subject}"
        return f"{subject}_{verb}"
    if isinstance(call.func, cst.Attribute):  # statistics.median(xs) -> median_xs
        verb = call.func.attr.value
    else:
        verb = call.func.value if isinstance(call.func, cst.Name) else "value"
    args = [a for a in call.args if a.keyword is None]
    subject = _short(args[0].value) if args else "value"
    return f"{verb}_{subject}"


def _short(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value.strip("_")
    if isinstance(node, cst.Call):
        return _name_for(node)
    return "value"


class _Apply(cst.CSTTransformer):
    def __init__(self, swaps: dict, inserts: dict) -> None:
        self.swaps = swaps
        self.inserts = inserts

    def leave_Call(self, original_node, updated_node):
        return self.swaps.get(original_node, updated_node)

    def leave_IndentedBlock(self, original_node, updated_node):
        pending = self.inserts.get(original_node)
        if not pending:
            return updated_node
        body = list(updated_node.body)
        originals = list(original_node.body)
        for anchor, statement in pending:
            index = originals.index(anchor)
            # The new statement takes the blank lines above the anchor; comments stay with it.
            lines = list(body[index].leading_lines)
            blank = 0
            while blank < len(lines) and lines[blank].comment is None:
                blank += 1
            statement = statement.with_changes(leading_lines=lines[:blank])
            body[index] = body[index].with_changes(leading_lines=lines[blank:])
            body.insert(index, statement)
            originals.insert(index, statement)
        return updated_node.with_changes(body=body)
