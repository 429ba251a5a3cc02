"""map-over-generator: `(x.attr for x in xs)` handed to a consumer -> `map(attrgetter("attr"), xs)`.

A generator expression resumes a Python frame for every item; `map` with a C-level callable
(`operator.attrgetter`, `itemgetter`, `neg`, a builtin) loops in C. The rewrite applies to a
generator expression with one `for` over a plain name and no `if`, passed straight to a consumer
that only iterates it (builtins such as `sum`, `list`, `sorted`, `any`; any `itertools`
function; `math.fsum`; `"sep".join`), whose element is a chain of these steps on the loop
variable, innermost first:

    x.a.b      -> attrgetter("a.b")         x[0], x["k"] -> itemgetter(0), itemgetter("k")
    -e, +e, ~e, not e -> neg, pos, invert, not_            f(e) -> f, for a stable name f

Why it is the same:
- Both evaluate `iter(xs)` when created (a generator expression evaluates its first iterable at
  once) and compute each element lazily, in order, when the consumer asks for it; exceptions
  from an element surface at the same item.
- `attrgetter("a.b")(x)` is `x.a.b`, `itemgetter(k)(x)` is `x[k]`, `neg(x)` is `-x`, `not_(x)` is
  `not x`. A private name (`x.__secret` in a class) is mangled by the compiler, not by
  attrgetter: refused.
- `f` is looked up once by `map`, once per item by the generator: only a builtin nobody shadows,
  or a module-level function or import that nothing in the repository rebinds, is used.
- The consumer only iterates: it never calls `.send()`/`.throw()` or reads `gi_frame`, which a
  map object lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from skills.codemods._cst import (
    BUILTIN_NAMES,
    Parsed,
    code,
    finish,
    function_locals,
    is_hashable_constant,
    walk,
    walk_own,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.repository import index_for, module_name

CONSUMER_BUILTINS = frozenset(
    {"sum", "min", "max", "any", "all", "list", "tuple", "set", "frozenset", "sorted", "dict"}
    | {"enumerate", "zip", "map", "filter"}
)
CONSUMER_FUNCTIONS = frozenset({"math.fsum", "math.prod", "collections.deque", "statistics.fmean"})
UNARY = {cst.Minus: "neg", cst.Plus: "pos", cst.BitInvert: "invert", cst.Not: "not_"}
MAX_STEPS = 3


@dataclass(frozen=True)
class _Step:
    kind: str  # "operator" (an operator-module callable built from `arg`) or "name"
    name: str  # attrgetter / itemgetter / neg / ... or the function's name
    arg: str = ""  # the literal passed to attrgetter / itemgetter


@dataclass(frozen=True)
class _Plan:
    node: cst.GeneratorExp
    steps: tuple[_Step, ...]
    line: int


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    target = parsed.find_target(data.qualname)
    func = target.func
    checker = _Checker(parsed, data, func, in_class=target.cls is not None)
    plans: list[_Plan] = []
    refusals: list[str] = []
    for node in walk_own(func.body):
        if isinstance(node, cst.GeneratorExp):
            steps, why = checker.steps_for(node)
            if steps:
                plans.append(_Plan(node, steps, parsed.line(node)))
            elif why:
                refusals.append(f"line {parsed.line(node)}: {why}")
    if not plans:
        raise CodemodRefused(
            "; ".join(refusals)
            or f"{func.name.value} passes no generator expression to a consumer that maps cleanly"
        )
    if "map" in checker.shadowed():
        raise CodemodRefused("the name `map` is rebound here: the builtin cannot be used")
    module, callables = _operator_names(parsed, func, plans)
    new_func = func.visit(_Swap({plan.node: plan for plan in plans}, callables))
    # The import (if any) was added around the function: the node is the same object.
    module = module.deep_replace(func, new_func)
    described = "; ".join(
        f"line {p.line}: `{code(p.node.with_changes(lpar=[], rpar=[]))}` -> "
        f"`{code(_mapped(p.steps, p.node.for_in.iter, callables))}`"
        for p in plans
    )
    summary = (
        f"{func.name.value}: {described}. A generator expression resumes a Python frame for "
        "every item; map with operator callables or builtins runs the loop in C, yielding the "
        "same items, lazily and in the same order."
    )
    if refusals:
        summary += " Left alone: " + "; ".join(refusals) + "."
    lines = [p.line for p in plans]
    return finish(data, module, summary, min(lines), max(parsed.end_line(p.node) for p in plans))


class _Checker:
    def __init__(self, parsed: Parsed, data: CodemodInput, func, *, in_class: bool) -> None:
        self.parsed = parsed
        self.func = func
        self.in_class = in_class
        self.index = index_for(data.repo_root, data.path, data.source)
        self.module = module_name(data.path)
        self.bindings = parsed.top_level_bindings()
        self.locals = function_locals(func) | {
            name for node in walk_own(func.body) for name in _comp_targets(node)
        }

    def shadowed(self) -> set[str]:
        return self.locals | set(self.bindings)

    def steps_for(self, node: cst.GeneratorExp) -> tuple[tuple[_Step, ...], str]:
        """The map steps for a generator expression, or ((), why not) ("" when not a fit)."""
        if not self._consumed(node):
            return (), ""
        comp = node.for_in
        if comp.inner_for_in is not None or comp.ifs or comp.asynchronous is not None:
            return (), "the generator has more than one `for`, an `if` or is async"
        if not isinstance(comp.target, cst.Name):
            return (), "the generator's target is not a plain name"
        steps: list[_Step] = []
        why = self._element(node.elt, comp.target.value, steps)
        if why:
            return (), why
        if not steps:
            return (), "the generator yields its items unchanged"
        if len(steps) > MAX_STEPS:
            return (), f"the element takes more than {MAX_STEPS} steps"
        return tuple(steps), ""

    def _consumed(self, node: cst.GeneratorExp) -> bool:
        arg = self.parsed.parent(node)
        call = self.parsed.parent(arg) if isinstance(arg, cst.Arg) else None
        if not isinstance(call, cst.Call) or arg.keyword is not None or arg.star:
            return False
        callee = call.func
        if isinstance(callee, cst.Attribute) and callee.attr.value == "join":
            return isinstance(callee.value, cst.SimpleString)
        names = self.parsed.qualified_names(callee)
        return any(
            (name.startswith("builtins.") and name.removeprefix("builtins.") in CONSUMER_BUILTINS)
            or name.startswith("itertools.")
            or name in CONSUMER_FUNCTIONS
            for name in names
        )

    def _element(self, elt: cst.BaseExpression, var: str, steps: list[_Step]) -> str:
        """Fill steps (innermost first) for elt, or say why it does not map."""
        if elt.lpar and not isinstance(elt, cst.Name):
            elt = elt.with_changes(lpar=[], rpar=[])
        if isinstance(elt, cst.Name):
            return "" if elt.value == var else f"the element {elt.value} is not the loop variable"
        if isinstance(elt, cst.Attribute):
            attr = elt.attr.value
            if self.in_class and attr.startswith("__") and not attr.endswith("__"):
                return f"the private name {attr} is mangled in a class"
            why = self._element(elt.value, var, steps)
            if steps and steps[-1].name == "attrgetter" and not why:
                steps[-1] = _Step("operator", "attrgetter", f"{steps[-1].arg}.{attr}")
            elif not why:
                steps.append(_Step("operator", "attrgetter", attr))
            return why
        if isinstance(elt, cst.Subscript):
            index = _constant_index(elt)
            if index is None:
                return f"{code(elt)} is not a lookup with one constant key"
            why = self._element(elt.value, var, steps)
            if not why:
                steps.append(_Step("operator", "itemgetter", index))
            return why
        if isinstance(elt, cst.UnaryOperation) and type(elt.operator) in UNARY:
            why = self._element(elt.expression, var, steps)
            if not why:
                steps.append(_Step("operator", UNARY[type(elt.operator)]))
            return why
        if isinstance(elt, cst.Call):
            return self._call_step(elt, var, steps)
        return f"the element {code(elt)} is not an attribute, key, unary operator or call"

    def _call_step(self, elt: cst.Call, var: str, steps: list[_Step]) -> str:
        if len(elt.args) != 1 or elt.args[0].keyword is not None or elt.args[0].star:
            return f"{code(elt)} does not take the item as its one argument"
        callee = elt.func
        if not isinstance(callee, cst.Name) or callee.value == var:
            return f"{code(callee)} is not a plain function name"
        why = self._stable(callee.value)
        if why:
            return why
        why = self._element(elt.args[0].value, var, steps)
        if not why:
            steps.append(_Step("name", callee.value))
        return why

    def _stable(self, name: str) -> str:
        """ "" when `name` means the same callable for as long as the generator runs."""
        if name in self.locals:
            return f"{name} is a local of the function"
        definitions = self.bindings.get(name, [])
        if not definitions:
            return "" if name in BUILTIN_NAMES else f"{name} is not defined in the module"
        if len(definitions) != 1 or self.index.changes(self.module, name):
            return f"{name} is rebound in the repository"
        stmt = definitions[0]
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            return ""
        if isinstance(stmt, cst.SimpleStatementLine) and isinstance(
            stmt.body[0], cst.Import | cst.ImportFrom
        ):
            return ""
        return f"{name} is a module-level variable, not a function"


def _comp_targets(node: cst.CSTNode) -> list[str]:
    if isinstance(node, cst.CompFor):
        return [n.value for n in walk(node.target) if isinstance(n, cst.Name)]
    return []


def _constant_index(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    value = node.slice[0].slice.value
    if node.slice[0].slice.star is not None or not is_hashable_constant(value):
        return None
    return code(value)


def _operator_names(
    parsed: Parsed, func: cst.FunctionDef, plans: list[_Plan]
) -> tuple[cst.Module, dict[str, str]]:
    """The module (with an import added when needed) and how each operator callable is spelled."""
    wanted = sorted({s.name for p in plans for s in p.steps if s.kind == "operator"})
    spelled: dict[str, str] = {}
    missing: list[str] = []
    taken = parsed.all_names() | function_locals(func)
    for name in wanted:
        alias = parsed.from_import("operator", name)
        if alias is not None and alias not in function_locals(func):
            spelled[name] = alias
        else:
            missing.append(name)
    module = parsed.module
    if not missing:
        return module, spelled
    module_alias = parsed.module_import("operator")
    if module_alias is not None and module_alias not in function_locals(func):
        return module, {**spelled, **{name: f"{module_alias}.{name}" for name in missing}}
    if any(name in taken for name in missing):
        raise CodemodRefused(
            f"the module already uses the name(s) {', '.join(missing)}: cannot import them"
        )
    if _has_star_import(parsed.module):
        raise CodemodRefused("the module has a star import: a new import could clash with it")
    statement = cst.parse_statement(f"from operator import {', '.join(missing)}\n")
    return _insert_import(module, statement), {**spelled, **{n: n for n in missing}}


def _has_star_import(module: cst.Module) -> bool:
    return any(
        isinstance(n, cst.ImportFrom) and isinstance(n.names, cst.ImportStar) for n in walk(module)
    )


def _insert_import(module: cst.Module, statement: cst.SimpleStatementLine) -> cst.Module:
    """After the last top-of-file import (a `from operator import` one when there is one)."""
    body = list(module.body)
    last = None
    for i, stmt in enumerate(body):
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
        if isinstance(small, cst.Import | cst.ImportFrom):
            last = i
            if isinstance(small, cst.ImportFrom) and code(small.module or cst.Name("_")) == (
                "operator"
            ):
                break
        elif last is not None or not (
            isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString)
        ):
            break
    at = 0 if last is None else last + 1
    body.insert(at, statement)
    return module.with_changes(body=body)


def _mapped(
    steps: tuple[_Step, ...], iterable: cst.BaseExpression, callables: dict[str, str]
) -> cst.BaseExpression:
    result = iterable
    for step in steps:
        if step.kind == "name":
            function = step.name
        elif step.arg:
            function = f"{callables[step.name]}({_literal(step)})"
        else:
            function = callables[step.name]
        result = cst.Call(
            func=cst.Name("map"),
            args=[cst.Arg(cst.parse_expression(function)), cst.Arg(result)],
        )
    return result


def _literal(step: _Step) -> str:
    return f'"{step.arg}"' if step.name == "attrgetter" else step.arg


class _Swap(cst.CSTTransformer):
    def __init__(self, plans: dict[cst.CSTNode, _Plan], callables: dict[str, str]) -> None:
        self.plans = plans
        self.callables = callables

    def leave_GeneratorExp(self, original_node, updated_node):
        plan = self.plans.get(original_node)
        if plan is None:
            return updated_node
        return _mapped(plan.steps, updated_node.for_in.iter, self.callables)
