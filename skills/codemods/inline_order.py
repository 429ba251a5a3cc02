"""inline-trivial-helper, the order of evaluation: which names of an expression are references,
when an argument may move into it, and how an expression is wrapped where it lands.

A call evaluates every argument before the helper's body; inlined, the body's own steps
interleave with the arguments. That is the same program when each argument with an effect is
read exactly once, unconditionally, in the call's order, and only side-effect-free steps run
before the last of them (OrderCheck).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libcst as cst

from skills.codemods._cst import is_hashable_constant, walk

ATOMS = (
    cst.Name,
    cst.Attribute,
    cst.Call,
    cst.Subscript,
    cst.SimpleString,
    cst.FormattedString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.List,
    cst.Dict,
    cst.Set,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
)
Event = tuple[str, cst.CSTNode, bool]  # (kind, node, under a condition)


def is_atom(expr: cst.BaseExpression) -> bool:
    """True when expr can stand anywhere an operand can without parentheses."""
    return bool(expr.lpar) or isinstance(expr, ATOMS)


def reference_names(expr: cst.BaseExpression) -> list[cst.Name]:
    """The Name nodes of expr that read a variable (not `.attr`, not `keyword=`)."""
    excluded: set[int] = set()
    for node in walk(expr):
        if isinstance(node, cst.Attribute):
            excluded.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            excluded.add(id(node.keyword))
    return [n for n in walk(expr) if isinstance(n, cst.Name) and id(n) not in excluded]


def events(node: cst.CSTNode, conditional: bool = False) -> Iterator[Event]:
    """The steps of evaluating node, in order: reads of names, then each operation."""
    if isinstance(node, cst.Name):
        yield ("name", node, conditional)
        return
    if is_hashable_constant(node) and not isinstance(node, cst.Tuple):
        return
    if isinstance(node, cst.Attribute):
        yield from events(node.value, conditional)
        yield ("attribute", node, conditional)
        return
    if isinstance(node, cst.Call):
        yield from events(node.func, conditional)
        for arg in node.args:
            yield from events(arg.value, conditional)
        yield ("call", node, conditional)
        return
    if isinstance(node, cst.BooleanOperation):
        yield from events(node.left, conditional)
        yield from events(node.right, True)
        yield ("operation", node, conditional)
        return
    if isinstance(node, cst.IfExp):
        yield from events(node.test, conditional)
        yield from events(node.body, True)
        yield from events(node.orelse, True)
        return
    if isinstance(node, cst.Comparison):
        yield from events(node.left, conditional)
        for i, target in enumerate(node.comparisons):
            yield from events(target.comparator, conditional or i > 0)
        yield ("operation", node, conditional)
        return
    yield from _generic(node, conditional)


def _generic(node: cst.CSTNode, conditional: bool) -> Iterator[Event]:
    """Operands in source order (the order CPython evaluates the remaining nodes in), then the
    operation itself; building a tuple or a list runs no code of the items."""
    for operand in _operands(node):
        yield from events(operand, conditional)
    if not isinstance(node, cst.Tuple | cst.List):
        yield ("operation", node, conditional)


def _operands(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """The outermost expressions below node, in source order."""
    for child in node.children:
        if isinstance(child, cst.BaseExpression):
            yield child
        else:
            yield from _operands(child)


class OrderCheck:
    """Whether arguments may move into the helper's expression (problem() is "" when so)."""

    def __init__(
        self,
        expr: cst.BaseExpression,
        params: set[str],
        values: dict[str, cst.BaseExpression],
        with_effects: list[str],
        pure: Callable[[str, cst.CSTNode], bool],
    ) -> None:
        self.expr = expr
        self.params = params
        self.values = values
        self.with_effects = with_effects  # params whose argument may have an effect, call order
        self.pure = pure  # (kind, node) -> the step has no side effect

    def problem(self) -> str:
        steps = list(events(self.expr))
        reads: dict[str, list[bool]] = {p: [] for p in self.params}
        for kind, node, conditional in steps:
            if kind == "name" and node.value in self.params:
                reads[node.value].append(conditional)
        for param, conditions in reads.items():
            why = self._read_problem(param, conditions)
            if why:
                return why
        if not self.with_effects:
            return ""
        seen: list[str] = []
        for kind, node, _ in steps:
            if kind == "name" and node.value in self.params:
                if node.value in self.with_effects:
                    seen.append(node.value)
                    if len(seen) == len(self.with_effects):
                        break
                continue
            if not self.pure(kind, node):
                return (
                    "the helper's expression does work before it reads every argument with an "
                    "effect, which the call evaluated first"
                )
        if seen != self.with_effects:
            return "the helper's expression reads its arguments in another order than the call"
        return ""

    def _read_problem(self, param: str, conditions: list[bool]) -> str:
        value = self.values[param]
        if param in self.with_effects:
            if conditions != [False]:
                return (
                    f"the argument for {param} has an effect and the helper reads it "
                    f"{'under a condition' if conditions == [True] else 'other than once'}"
                )
            return ""
        if not conditions and not is_hashable_constant(value):
            return f"the helper never reads {param}: its argument would not be evaluated"
        if conditions and all(conditions) and not is_hashable_constant(value):
            return f"the helper reads {param} only under a condition"
        return ""
