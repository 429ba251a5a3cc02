"""guard-dict-lookup: `try: ... d[k] ... except KeyError:` in a loop -> `if k in d:` first.

Raising and catching an exception costs far more than a hash lookup: when the key is often
missing, a loop spends its time building, raising and matching KeyError. Testing `k in d` first
sends a miss straight to the handler's code, without raising anything.

The rewrite keeps everything the original could do:

    try:                           if k in d:
        v = d[k]                       try:
        <rest>                             v = d[k]
    except KeyError:        ->             <rest>
        <handler>                      except KeyError:
                                           <handler>
                                   else:
                                       <handler>

- The hit path runs the same `try` as before, so a KeyError raised by `<rest>` (or by a thread
  that removed the key in between) still reaches the handler. A `try` that raises nothing costs
  nothing on Python 3.11+.
- A miss ran the handler after the lookup raised; now it runs the handler without the lookup.
  That is the same only when `k in d` is False exactly when `d[k]` raises KeyError, so `d` must
  be a plain `dict` (or `OrderedDict`): no `__missing__` (defaultdict, Counter) and no mapping
  class of the repository's own. It is decided from `d`'s bindings: every one assigns a dict
  display or comprehension, `dict(...)`, `OrderedDict(...)`, or the call of a function of the same
  module (not rebound anywhere in the repository) whose every return is one of those.
- The key is a name or a constant, so evaluating it twice is evaluating it once.
- The lookup is the first thing the `try` body evaluates (`v = d[k]`, `for x in d[k]:`,
  `return d[k]`), so on a miss nothing else of the body had run.
- The handler runs outside an `except` block now: a handler that re-raises, names the exception
  (`except KeyError as e`), raises (its exception would lose the KeyError as context) or reads
  the current exception (`sys.exc_info()`, `logger.exception`, `traceback.print_exc`) is refused.
The remaining assumption: a key whose `__eq__` or `__hash__` itself raises KeyError.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from skills.codemods._cst import (
    BUILTIN_NAMES,
    LOOP_TYPES,
    Parsed,
    bound_by,
    code,
    finish,
    function_locals,
    global_declared,
    is_hashable_constant,
    target_names,
    walk,
    walk_own,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.repository import index_for, module_name

CAUGHT = frozenset({"KeyError", "LookupError"})
# Calls that read the exception being handled: the handler no longer runs inside `except`.
READS_EXCEPTION = frozenset({"exc_info", "exception", "print_exc", "format_exc", "print_exception"})
ORDERED_DICTS = frozenset({"collections.OrderedDict"})


@dataclass(frozen=True)
class _Plan:
    node: cst.Try
    mapping: str
    key: cst.BaseExpression
    line: int


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    target = parsed.find_target(data.qualname)
    func = target.func
    dicts = _PlainDicts(parsed, data)
    plans: list[_Plan] = []
    refusals: list[str] = []
    for node in walk_own(func.body):
        if isinstance(node, cst.Try) and _in_loop(parsed, node, func):
            plan, why = _plan(parsed, func, node, dicts)
            if plan is not None:
                plans.append(plan)
            else:
                refusals.append(f"line {parsed.line(node)}: {why}")
    if not plans:
        raise CodemodRefused(
            "; ".join(refusals)
            or f"{func.name.value} has no `try`/`except KeyError` around a dict lookup in a loop"
        )
    new_func = func.visit(_Swap({plan.node: plan for plan in plans}))
    module = parsed.module.deep_replace(func, new_func)
    described = "; ".join(
        f"line {p.line}: `{code(p.key)} in {p.mapping}` is tested before the lookup" for p in plans
    )
    summary = (
        f"{func.name.value}: {described}. A missing key used to raise and catch KeyError on every "
        "miss; now a miss goes straight to the handler's code, and a hit runs the same `try` as "
        f"before (so a KeyError from the rest of the block is still handled). "
        f"{', '.join(sorted({p.mapping for p in plans}))} is a plain dict, so `in` is False "
        "exactly when the lookup raises."
    )
    if refusals:
        summary += " Left alone: " + "; ".join(refusals) + "."
    lines = [p.line for p in plans]
    return finish(data, module, summary, min(lines), max(parsed.end_line(p.node) for p in plans))


def _in_loop(parsed: Parsed, node: cst.CSTNode, func: cst.FunctionDef) -> bool:
    for ancestor in parsed.ancestors(node):
        if ancestor is func:
            return False
        if isinstance(ancestor, LOOP_TYPES):
            return True
    return False


def _plan(
    parsed: Parsed, func: cst.FunctionDef, node: cst.Try, dicts: _PlainDicts
) -> tuple[_Plan | None, str]:
    why = _handler_problem(node, func, parsed)
    if why:
        return None, why
    lookup = _first_lookup(node)
    if lookup is None:
        return None, (
            "the `try` does not start with a lookup `d[k]` (`v = d[k]`, `for x in d[k]:` or "
            "`return d[k]`)"
        )
    mapping, key = lookup.value, lookup.slice[0].slice.value
    if not isinstance(mapping, cst.Name):
        return None, f"{code(mapping)} is not a local name"
    if not (isinstance(key, cst.Name) or is_hashable_constant(key)):
        return (
            None,
            f"the key {code(key)} is not a name or a constant (it would be evaluated twice)",
        )
    why = dicts.problem(func, mapping.value)
    if why:
        return None, why
    return _Plan(node, mapping.value, key, parsed.line(node)), ""


def _handler_problem(node: cst.Try, func: cst.FunctionDef, parsed: Parsed) -> str:
    if node.finalbody is not None:
        return "the `try` has a `finally` clause"
    if len(node.handlers) != 1:
        return "the `try` has more than one `except` clause"
    handler = node.handlers[0]
    caught = _caught_names(handler.type)
    if not caught & CAUGHT:
        return "the `try` does not catch KeyError"
    shadowed = (function_locals(func) | set(parsed.top_level_bindings())) & caught
    if shadowed:
        return f"{', '.join(sorted(shadowed))} is rebound in this module"
    if handler.name is not None:
        return f"the handler names the exception ({code(handler.name.name)})"
    for inner in walk(handler.body):
        if isinstance(inner, cst.Raise) and (inner.exc is None or inner.cause is None):
            return "the handler raises (outside `except` the exception would lose its context)"
        if isinstance(inner, cst.Call):
            callee = inner.func
            name = callee.attr.value if isinstance(callee, cst.Attribute) else code(callee)
            if name in READS_EXCEPTION:
                return f"the handler reads the exception being handled ({code(callee)}())"
    return ""


def _caught_names(expr: cst.BaseExpression | None) -> set[str]:
    if isinstance(expr, cst.Name):
        return {expr.value}
    if isinstance(expr, cst.Tuple):
        return {e.value.value for e in expr.elements if isinstance(e.value, cst.Name)}
    return set()


def _first_lookup(node: cst.Try) -> cst.Subscript | None:
    """`d[k]` when it is the first thing the `try` body evaluates."""
    body = node.body.body
    if not body:
        return None
    first = body[0]
    value: cst.BaseExpression | None = None
    if isinstance(first, cst.For):
        value = first.iter
    elif isinstance(first, cst.SimpleStatementLine) and len(first.body) >= 1:
        small = first.body[0]
        if isinstance(small, cst.Assign | cst.AnnAssign | cst.Return):
            value = small.value
    if (
        isinstance(value, cst.Subscript)
        and not value.lpar
        and len(value.slice) == 1
        and isinstance(value.slice[0].slice, cst.Index)
        and value.slice[0].slice.star is None
    ):
        return value
    return None


class _PlainDicts:
    """Which names are bound only to plain dicts (where `k in d` agrees with `d[k]`)."""

    def __init__(self, parsed: Parsed, data: CodemodInput) -> None:
        self.parsed = parsed
        self.index = index_for(data.repo_root, data.path, data.source)
        self.module = module_name(data.path)
        self.bindings = parsed.top_level_bindings()

    def problem(self, func: cst.FunctionDef, name: str) -> str:
        """ "" when every binding of `name` in func makes a plain dict, else why not."""
        params = func.params
        all_params = [*params.posonly_params, *params.params, *params.kwonly_params]
        if name in {p.name.value for p in all_params} or name in global_declared(func):
            return f"{name} is a parameter or a global: its type is the caller's"
        for nested in walk(func.body):
            if isinstance(nested, cst.Nonlocal) and name in {n.name.value for n in nested.names}:
                return f"a nested function rebinds {name}"
        values = _assigned_values(func, name)
        if values is None or not values:
            return f"{name} is not bound by plain assignments only"
        for value in values:
            why = self._value_problem(value, name)
            if why:
                return why
        return ""

    def _value_problem(self, value: cst.BaseExpression, name: str) -> str:
        if self._makes_dict(value):
            return ""
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            return self._helper_problem(value.func.value, name)
        return f"{name} = {code(value)}: not known to be a plain dict"

    def _makes_dict(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Dict | cst.DictComp):
            return True
        if not isinstance(value, cst.Call):
            return False
        callee = value.func
        if isinstance(callee, cst.Attribute) and code(callee) == "dict.fromkeys":
            callee = callee.value
        if isinstance(callee, cst.Name) and callee.value == "dict":
            return "dict" not in self.bindings and "dict" in BUILTIN_NAMES
        return bool(self.parsed.qualified_names(callee) & ORDERED_DICTS)

    def _helper_problem(self, helper: str, name: str) -> str:
        """A module-level function of this module whose every return is a fresh plain dict."""
        definitions = self.bindings.get(helper, [])
        func = definitions[0] if len(definitions) == 1 else None
        if not isinstance(func, cst.FunctionDef):
            return f"{name} = {helper}(...): {helper} is not a function defined once in this module"
        if func.decorators or func.asynchronous is not None:
            return f"{name} = {helper}(...): {helper} is decorated or async"
        if self.index.changes(self.module, helper):
            return f"{name} = {helper}(...): {helper} is rebound elsewhere in the repository"
        own = list(walk_own(func.body))
        if any(isinstance(n, cst.Yield) for n in own):
            return f"{name} = {helper}(...): {helper} is a generator"
        body = func.body.body
        last = body[-1] if body else None
        if not (
            isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return)
        ):
            return f"{name} = {helper}(...): {helper} may end without a return"
        for node in own:
            if isinstance(node, cst.Return) and not self._returns_dict(func, node.value):
                return f"{name} = {helper}(...): {helper} may return something else than a dict"
        return ""

    def _returns_dict(self, func: cst.FunctionDef, value: cst.BaseExpression | None) -> bool:
        if value is None:
            return False
        if self._makes_dict(value):
            return True
        if not isinstance(value, cst.Name) or value.value in global_declared(func):
            return False
        values = _assigned_values(func, value.value)
        return bool(values) and all(self._makes_dict(v) for v in values)


def _assigned_values(func: cst.FunctionDef, name: str) -> list[cst.BaseExpression] | None:
    """The values of every `name = value` in func; None when something else binds name."""
    values: list[cst.BaseExpression] = []
    params = func.params
    for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
        if param.name.value == name:
            return None
    for node in walk_own(func.body):
        if isinstance(node, cst.Assign):
            if any(name in target_names(t.target) for t in node.targets):
                if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
                    return None
                values.append(node.value)
            continue
        if isinstance(node, cst.AssignTarget):
            continue
        if name in bound_by(node) or (
            isinstance(node, cst.Del) and name in target_names(node.target)
        ):
            return None
        if isinstance(node, cst.ImportAlias):
            bound = code(node.asname.name) if node.asname else code(node.name).split(".")[0]
            if bound == name:
                return None
    return values


def _guarded(plan: _Plan, node: cst.Try) -> cst.If:
    handler_body = node.handlers[0].body
    return cst.If(
        test=cst.Comparison(
            left=plan.key,
            comparisons=[
                cst.ComparisonTarget(operator=cst.In(), comparator=cst.Name(plan.mapping))
            ],
        ),
        body=cst.IndentedBlock(body=[node.with_changes(leading_lines=[])]),
        orelse=cst.Else(body=handler_body),
        leading_lines=node.leading_lines,
    )


class _Swap(cst.CSTTransformer):
    def __init__(self, plans: dict[cst.CSTNode, _Plan]) -> None:
        self.plans = plans

    def leave_Try(self, original_node, updated_node):
        plan = self.plans.get(original_node)
        return updated_node if plan is None else _guarded(plan, updated_node)
