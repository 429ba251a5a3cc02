"""inline-trivial-helper: a call of a one-line helper of the same module -> the helper's expression.

Calling a Python function costs a frame: for a helper whose body is `return <expression>`
(`def drop(n, seq): return itertools.islice(seq, n, None)`), the call often costs more than the
work. The hot function gets the expression itself, its parameters replaced by the arguments.

When this is the same program:
- The helper is a module-level `def` of the same module (so its global names mean the same at
  the call site), bound once and rebound nowhere in the repository, without decorators, `*args`
  or `**kwargs`, with constant defaults, and a body that is a docstring and one `return`.
- Its expression has no lambda, comprehension, walrus, yield, await, and no frame-reading name
  (`locals`, `super`, `sys._getframe`...), and does not call itself. None of its free names is
  bound in the calling function, so they still reach the module's globals.
- Arguments are evaluated before the helper's body runs. A name or constant argument can be
  read any number of times; any other argument must be used exactly once, not under a condition
  (`and`/`or`/`if-else`/chained comparison), in the order the call evaluated them, and only
  side-effect-free steps (constants, global names, module attributes, pure calls of constants)
  may run before the last of them.
- Called inside the function's own body (not in a lambda or nested function), in a function
  that is not nested in another function (whose locals could shadow the helper's globals).
The assumption this makes: code outside the repository does not patch the helper at run time
(the repository's own tests would show a patch of it failing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from skills.codemods._cst import (
    COMPREHENSION_TYPES,
    Parsed,
    code,
    finish,
    function_locals,
    is_hashable_constant,
    walk,
    walk_own,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.inline_order import OrderCheck, is_atom, reference_names
from skills.codemods.purity import PURE_BUILTINS, PURE_MODULE_FUNCTIONS
from skills.codemods.repository import index_for, module_name

MAX_PASSES = 3  # a helper's expression may call another helper
FRAME_NAMES = frozenset({"locals", "globals", "vars", "super", "__class__", "eval", "exec"})
FRAME_ATTRIBUTES = frozenset({"_getframe", "currentframe", "stack"})
FORBIDDEN_NODES = (*COMPREHENSION_TYPES, cst.Lambda, cst.NamedExpr, cst.Yield, cst.Await)


@dataclass
class _Helper:
    name: str
    params: list[str]
    defaults: dict[str, cst.BaseExpression]
    expr: cst.BaseExpression
    kwonly: set[str] = field(default_factory=set)


@dataclass
class _Pass:
    """One pass over the target: the calls replaced and the refusals met."""

    swaps: dict[cst.Call, cst.BaseExpression] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    new_source: str = ""


def apply(data: CodemodInput) -> CodemodResult:
    source, notes, refusals, lines = data.source, [], [], []
    for _ in range(MAX_PASSES):
        parsed = Parsed(source, data.path)
        done = _one_pass(parsed, data)
        refusals = refusals or done.refusals
        if not done.swaps:
            break
        notes += done.notes
        lines += done.lines if source == data.source else []
        source = done.new_source
    if not notes:
        raise CodemodRefused(
            "; ".join(refusals)
            or f"{data.qualname.rsplit('.', 1)[-1]} calls no one-line helper of its module"
        )
    func_name = data.qualname.rsplit(".", 1)[-1]
    summary = (
        f"{func_name}: " + "; ".join(notes) + ". Each helper's body is one `return` of an "
        "expression, defined once in this module and rebound nowhere in the repository: the "
        "call cost a Python frame for a line of work, and the expression now runs in place."
    )
    module = cst.parse_module(source)
    lines = lines or [1]
    return finish(data, module, summary, min(lines), max(lines))


def _one_pass(parsed: Parsed, data: CodemodInput) -> _Pass:
    target = parsed.find_target(data.qualname)
    func = target.func
    if not (target.top_stmt is func or target.top_stmt is target.cls):
        raise CodemodRefused(f"{func.name.value} is nested in a function: its scope could shadow")
    helpers = _Helpers(parsed, data)
    bound = function_locals(func) | {
        name for node in walk_own(func.body) for name in _comp_targets(node)
    }
    done = _Pass()
    pure = _PureSteps(parsed)
    for node in walk_own(func.body):
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)):
            continue
        name = node.func.value
        if name in bound or name == func.name.value:
            continue
        helper, why = helpers.get(name)
        if helper is None:
            if why:
                done.refusals.append(f"line {parsed.line(node)}: {why}")
            continue
        replacement, why = _inlined(helper, node, bound, pure)
        if replacement is None:
            done.refusals.append(f"line {parsed.line(node)}: {name}(...): {why}")
            continue
        done.swaps[node] = replacement
    # A call inside the arguments of another inlined call waits for the next pass.
    inner = {id(n) for call in done.swaps for n in walk(call) if n is not call}
    done.swaps = {call: new for call, new in done.swaps.items() if id(call) not in inner}
    for call in done.swaps:
        done.lines.append(parsed.line(call))
        done.notes.append(
            f"line {parsed.line(call)}: {code(call.func)}(...) -> "
            f"{code(done.swaps[call].with_changes(lpar=[], rpar=[]))}"
        )
    if done.swaps:
        new_func = func.visit(_Swap(done.swaps))
        done.new_source = parsed.module.deep_replace(func, new_func).code
    return done


def _comp_targets(node: cst.CSTNode) -> list[str]:
    if isinstance(node, cst.CompFor):
        return [n.value for n in walk(node.target) if isinstance(n, cst.Name)]
    return []


class _Helpers:
    """The module's one-line helpers, judged once each."""

    def __init__(self, parsed: Parsed, data: CodemodInput) -> None:
        self.parsed = parsed
        self.bindings = parsed.top_level_bindings()
        self.index = index_for(data.repo_root, data.path, data.source)
        self.module = module_name(data.path)
        self.cache: dict[str, tuple[_Helper | None, str]] = {}

    def get(self, name: str) -> tuple[_Helper | None, str]:
        if name not in self.cache:
            self.cache[name] = self._judge(name)
        return self.cache[name]

    def _judge(self, name: str) -> tuple[_Helper | None, str]:
        """(helper, "") or (None, why not); why is "" for a name that is no helper at all."""
        definitions = self.bindings.get(name, [])
        if not definitions or not isinstance(definitions[-1], cst.FunctionDef):
            return None, ""
        func = definitions[-1]
        expr = _single_return(func)
        if expr is None:
            return None, ""
        if len(definitions) != 1 or self.index.changes(self.module, name):
            return None, f"{name} is rebound in the repository"
        if func.decorators or func.asynchronous is not None:
            return None, f"{name} is decorated or async"
        params = func.params
        if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
            return None, f"{name} takes *args or **kwargs"
        names = [p.name.value for p in [*params.posonly_params, *params.params]]
        kwonly = [p.name.value for p in params.kwonly_params]
        defaults = {}
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            if param.default is not None:
                if not is_hashable_constant(param.default):
                    return None, f"{name} has a default that is not a constant"
                defaults[param.name.value] = param.default
        why = _expression_problem(expr, name)
        if why:
            return None, f"{name}: {why}"
        return _Helper(name, names + kwonly, defaults, expr, set(kwonly)), ""


def _single_return(func: cst.FunctionDef) -> cst.BaseExpression | None:
    if not isinstance(func.body, cst.IndentedBlock):
        return None
    body = list(func.body.body)
    if body and isinstance(body[0], cst.SimpleStatementLine):
        first = body[0].body[0]
        if isinstance(first, cst.Expr) and isinstance(
            first.value, cst.SimpleString | cst.ConcatenatedString
        ):
            body = body[1:]
    if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine):
        return None
    smalls = body[0].body
    if len(smalls) != 1 or not isinstance(smalls[0], cst.Return) or smalls[0].value is None:
        return None
    return smalls[0].value


def _expression_problem(expr: cst.BaseExpression, name: str) -> str:
    for node in walk(expr):
        if isinstance(node, FORBIDDEN_NODES):
            return f"its expression has a {type(node).__name__} (a scope or an effect of its own)"
        if isinstance(node, cst.Name) and node.value in FRAME_NAMES | {name}:
            return f"its expression uses {node.value}"
        if isinstance(node, cst.Attribute) and node.attr.value in FRAME_ATTRIBUTES:
            return f"its expression reads frames ({code(node)})"
    return ""


def _bind_arguments(helper: _Helper, call: cst.Call) -> tuple[dict[str, cst.Arg] | None, str]:
    bound: dict[str, cst.Arg] = {}
    positional = [p for p in helper.params if p not in helper.kwonly]
    for i, arg in enumerate(call.args):
        if arg.star:
            return None, "the call unpacks *args or **kwargs"
        if arg.keyword is None:
            if i >= len(positional):
                return None, "the call passes more arguments than the helper takes"
            bound[positional[i]] = arg
        elif arg.keyword.value in helper.params and arg.keyword.value not in bound:
            bound[arg.keyword.value] = arg
        else:
            return None, f"the call passes {arg.keyword.value}= the helper does not take"
    missing = [p for p in helper.params if p not in bound and p not in helper.defaults]
    if missing:
        return None, f"the call does not pass {', '.join(missing)}"
    return bound, ""


def _inlined(
    helper: _Helper, call: cst.Call, bound_here: set[str], pure: _PureSteps
) -> tuple[cst.BaseExpression | None, str]:
    """The helper's expression with the call's arguments in place, or (None, why not)."""
    references = reference_names(helper.expr)
    free = {n.value for n in references} - set(helper.params)
    clash = free & bound_here
    if clash:
        return None, f"{', '.join(sorted(clash))} is a local here, a global in the helper"
    args, why = _bind_arguments(helper, call)
    if args is None:
        return None, why
    values = {p: (args[p].value if p in args else helper.defaults[p]) for p in helper.params}
    with_effects = [p for p in helper.params if p in args and not _simple(values[p])]
    with_effects.sort(key=lambda p: call.args.index(args[p]))
    why = OrderCheck(helper.expr, set(helper.params), values, with_effects, pure).problem()
    if why:
        return None, why
    expr = helper.expr.visit(_Substitute({id(n) for n in references}, values))
    if not is_atom(expr):
        expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expr, ""


def _simple(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Name) or is_hashable_constant(value)


class _PureSteps:
    """Steps with no side effect: a global name, an attribute of an imported module, a call of
    a pure builtin or module function with constant arguments."""

    def __init__(self, parsed: Parsed) -> None:
        self.parsed = parsed
        self.modules = {
            code(a.asname.name) if a.asname else code(a.name).split(".")[0]
            for stmt in parsed.module.body
            if isinstance(stmt, cst.SimpleStatementLine)
            for small in stmt.body
            if isinstance(small, cst.Import)
            for a in small.names
        }

    def __call__(self, kind: str, node: cst.CSTNode) -> bool:
        if kind == "name":
            return True
        if kind == "attribute":
            root = node
            while isinstance(root, cst.Attribute):
                root = root.value
            return isinstance(root, cst.Name) and root.value in self.modules
        if kind == "call" and all(is_hashable_constant(a.value) for a in node.args):
            return any(_pure_callee(q) for q in self.parsed.qualified_names(node.func))
        return False


def _pure_callee(qualified: str) -> bool:
    if qualified.startswith("builtins."):
        return qualified.removeprefix("builtins.") in PURE_BUILTINS
    return qualified.startswith(PURE_MODULE_FUNCTIONS)


class _Substitute(cst.CSTTransformer):
    def __init__(self, reference_ids: set[int], values: dict[str, cst.BaseExpression]) -> None:
        self.reference_ids = reference_ids
        self.values = values

    def leave_Name(self, original_node, updated_node):
        if id(original_node) not in self.reference_ids or original_node.value not in self.values:
            return updated_node
        value = self.values[original_node.value].deep_clone()
        if not is_atom(value):
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return value

    def leave_Attribute(self, original_node, updated_node):
        value = updated_node.value  # `1.real` does not parse: `(1).real` does
        if isinstance(value, cst.Integer | cst.Float) and not value.lpar:
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return updated_node.with_changes(value=value)
        return updated_node


class _Swap(cst.CSTTransformer):
    def __init__(self, swaps: dict[cst.Call, cst.BaseExpression]) -> None:
        self.swaps = swaps

    def leave_Call(self, original_node, updated_node):
        return self.swaps.get(original_node, updated_node)
