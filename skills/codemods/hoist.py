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

from dataclasses import dataclass

import libcst as cst

from skills.codemods._cst import (
    COMPREHENSION_TYPES,
    Parsed,
    bound_by,
    code,
    finish,
    function_locals,
    target_names,
    walk,
    walk_own,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.edits import unique_name
from skills.codemods.hoist_edits import Apply, Plan, anchor_statement, inserts, name_for, unique
from skills.codemods.hoist_safety import (
    READING_METHODS,
    ReadOnlyMethods,
    alias_problem,
    chain_text,
    fresh_locals,
    generator_problem,
    read_paths,
    related,
    yields_in,
)
from skills.codemods.purity import (
    HOISTABLE_BUILTINS,
    MUTABLE_FACTORIES,
    MUTATING_METHODS,
    RAISE_ON_EMPTY,
    READ_ONLY_CALLEES,
    STATISTICS_RAISE_ON_EMPTY,
    STR_METHODS,
)
from skills.codemods.repository import index_for


@dataclass
class _Context:
    """What the checks need to know about the function besides the loop."""

    me: str | None  # `self` (or `cls`) of a method, None for a function or a staticmethod
    generator: bool
    fresh: set[str]  # locals bound only to objects the function made
    read_only: ReadOnlyMethods


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    target = parsed.find_target(data.qualname)
    func = target.func
    context = _context(parsed, target, data)
    plans, refusals = _plan_hoists(parsed, func, context)
    if not plans:
        raise CodemodRefused(
            "; ".join(refusals)
            or f"{func.name.value} has no pure call inside a loop that does not depend on the loop"
        )
    swaps = {plan.call: cst.Name(plan.name) for plan in plans}
    new_func = func.visit(Apply(swaps, inserts(parsed, func, plans)))
    module = parsed.module.deep_replace(func, new_func)
    lines = [parsed.line(p.call) for p in plans] + [parsed.line(p.loop) for p in plans]
    described = "; ".join(
        f"{code(p.call)} at line {parsed.line(p.call)} -> {p.name}, computed once before the "
        f"loop at line {parsed.line(anchor_statement(parsed, p.loop, func))}"
        + (
            " (only when its argument is non-empty: it raises on an empty one, and the loop may "
            "never have reached it)"
            if p.kind == "guarded"
            else ""
        )
        for p in unique(plans)
    )
    summary = (
        f"{func.name.value}: {described}. Its inputs are not changed inside the loop, so every "
        "iteration computed the same value; now it is computed once instead of once per "
        "iteration."
    )
    if refusals:
        summary += " Left alone: " + "; ".join(refusals) + "."
    return finish(data, module, summary, min(lines), max(parsed.line(p.call) for p in plans))


def _context(parsed: Parsed, target, data: CodemodInput) -> _Context:
    func = target.func
    params = [*func.params.posonly_params, *func.params.params]
    static = any(code(d.decorator).endswith("staticmethod") for d in func.decorators)
    me = params[0].name.value if target.cls is not None and params and not static else None
    index = index_for(data.repo_root, data.path, data.source)
    return _Context(
        me=me,
        generator=any(isinstance(n, cst.Yield) for n in walk_own(func.body)),
        fresh=fresh_locals(func),
        read_only=ReadOnlyMethods(parsed, target, index),
    )


def _plan_hoists(
    parsed: Parsed, func: cst.FunctionDef, context: _Context
) -> tuple[list[Plan], list[str]]:
    """Every pure, loop-invariant call to hoist (outermost first), and the reasons for the rest."""
    taken = function_locals(func) | parsed.all_names()
    plans: list[Plan] = []
    by_code: dict[tuple[str, int], str] = {}
    refusals: list[str] = []
    covered: set[int] = set()
    for node in walk(func.body):
        if id(node) in covered or not isinstance(node, cst.Call):
            continue
        kind = _call_kind(parsed, node)
        if kind is None:
            continue
        if _in_except_clause(parsed, node, func):
            refusals.append(
                f"line {parsed.line(node)}: {code(node)} is evaluated only when an exception "
                "reaches its except clause, not once per iteration: hoisting it saves nothing"
            )
            continue
        chosen, refusal = _outermost_invariant_loop(parsed, node, func, kind, context)
        if refusal is None and chosen is not None:
            guarded, refusal = _guard_for(parsed, node, kind)
        if refusal:
            refusals.append(f"line {parsed.line(node)}: {code(node)} {refusal}")
        if refusal is not None or chosen is None:
            continue
        key = (code(node), id(chosen))
        if key not in by_code:
            name = unique_name(name_for(node), taken)
            taken.add(name)
            by_code[key] = name
        plans.append(Plan(node, chosen, by_code[key], "guarded" if guarded else "safe"))
        covered |= {id(n) for n in walk(node)}
    return plans, refusals


def _in_except_clause(parsed: Parsed, call: cst.Call, func: cst.FunctionDef) -> bool:
    """The call is part of an `except <types>:` expression, run only when an exception is."""
    for ancestor in parsed.ancestors(call):
        if ancestor is func:
            return False
        if isinstance(ancestor, cst.ExceptHandler | cst.ExceptStarHandler):
            return ancestor.type is not None and any(
                a is ancestor.type for a in [call, *parsed.ancestors(call)]
            )
    return False


def _outermost_invariant_loop(
    parsed: Parsed, call: cst.Call, func: cst.FunctionDef, kind: str, context: _Context
) -> tuple[cst.CSTNode | None, str | None]:
    """(the outermost loop the call does not depend on, None), or (None, why not or '')."""
    loops = _enclosing_loops(parsed, call, func)
    chosen = None
    reason = ""
    for loop in loops:  # innermost first
        problem = _variance(parsed, call, loop, func, context)
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


def _variance(parsed: Parsed, call: cst.Call, loop: cst.CSTNode, func, context: _Context) -> str:
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
    paths = read_paths(parsed, call)
    problem = alias_problem(parsed, func, paths)
    if not problem and context.generator and yields_in(loop):
        problem = generator_problem(func, paths, context.fresh)
    return problem or _changed_in_loop(parsed, call, loop, func, context, used, paths)


def _changed_in_loop(
    parsed: Parsed,
    call: cst.Call,
    loop: cst.CSTNode,
    func,
    context: _Context,
    used: set[str],
    paths: set[str],
) -> str:
    """Why the loop itself (or what it calls) may change what `call` reads, or ''."""
    # A second name for the same object could be mutated in the loop without us seeing it.
    for node in walk(func.body):
        if (
            isinstance(node, cst.Assign | cst.AnnAssign)
            and isinstance(node.value, cst.Name)
            and node.value.value in used
        ):
            return f"reads {node.value.value}, which has another name (line {parsed.line(node)})"
    call_ids = {id(n) for n in walk(call)}
    unknown: cst.Call | None = None  # the first call that may run code nothing here can read
    for node in walk(loop):
        if id(node) in call_ids:
            continue
        if isinstance(node, cst.Call):
            why, runs_unknown = _call_effect(parsed, node, used, paths, context)
            if why:
                return why
            if runs_unknown and unknown is None:
                unknown = node
        if isinstance(node, cst.AssignTarget | cst.AugAssign | cst.Del):
            target = node.target
            rebinds_other_attribute = (
                isinstance(target, cst.Attribute)
                and chain_text(target.value) == context.me
                and not any(related(code(target), path) for path in paths)
            )
            if (
                isinstance(target, cst.Subscript | cst.Attribute)
                and _root(target) in used
                and not rebinds_other_attribute
            ):
                return f"reads {_root(target)}, which the loop modifies ({code(target)})"
    return _unknown_call_problem(parsed, call, func, context, paths, unknown)


def _call_effect(
    parsed: Parsed, node: cst.Call, used: set[str], paths: set[str], context: _Context
) -> tuple[str, bool]:
    """(why this call in the loop may change what is read, or '';
    whether it may run code nothing here can read)."""
    root = _root(node.func)
    method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
    kind = _call_kind(parsed, node)
    receiver = chain_text(node.func.value) if isinstance(node.func, cst.Attribute) else None
    if context.me is not None and receiver == context.me and root in used:
        why = context.read_only.problem(method)
        if why:
            path = sorted(p for p in paths if p.split(".")[0] == context.me)[0]
            return (
                f"reads {path}, which the loop may change: it calls {code(node.func)}(), and {why}"
            ), False
        return "", False  # a method that only reads self
    if (
        root in used
        and (method in MUTATING_METHODS or _attribute_chain(node.func))
        and method not in STR_METHODS
        and method not in ("get", "count", "index")
    ):
        return f"reads {root}, which the loop may change through .{method}()", False
    for arg in node.args:
        if _root(arg.value) in used and kind is None:
            return (
                f"reads {_root(arg.value)}, which the loop passes to {code(node.func)}(), "
                "which might change it"
            ), False
    if kind is not None:
        return "", False
    if method in READING_METHODS or (root in context.fresh and method in MUTATING_METHODS):
        return "", False  # a container's own reading method, or a change to a local's object
    return "", True


def _unknown_call_problem(
    parsed: Parsed, call: cst.Call, func, context: _Context, paths: set[str], unknown
) -> str:
    """Why a call in the loop to code nothing here reads may change what `call` reads, or ''."""
    if unknown is None:
        return ""
    module_scope = parsed.scope(parsed.module)
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
    local_names = function_locals(func)
    for path in sorted(paths):
        root = path.split(".")[0]
        if root in context.fresh or root not in local_names:
            continue  # made here, or a module global (judged above)
        return (
            f"reads {path}, and the loop calls {code(unknown.func)}(), which may change it "
            "through a reference of its own"
        )
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
