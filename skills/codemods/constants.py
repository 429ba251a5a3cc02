"""The value of an expression that cannot change: literals, and names nothing in the repository
rebinds or mutates, combined by the few operations real code builds constants with.

`ALLOWED = ("a", "b")`, `ALLOWED = tuple(NAMES)`, `frozenset(...)`, `"a b c".split()`,
`PREFIX + r"\\d+"`, a class-level `PATTERN = ...` read as `self.PATTERN`, `cls.PATTERN` or
`Class.PATTERN`: each is computed here, once, as a Python value, so a codemod can check what it
holds (hashable items, a pattern that compiles) and know it is fixed for the process.
"""

from __future__ import annotations

import ast

import libcst as cst

from skills.codemods._cst import Parsed, Target, code
from skills.codemods.base import CodemodInput
from skills.codemods.repository import RepositoryIndex, index_for, module_name

MAX_DEPTH = 8  # names referring to names: deep enough for real code, bounded for cycles
# Builtins that build a value from a constant argument (called on a constant, the result is one).
BUILDERS = {"tuple": tuple, "frozenset": frozenset, "list": list, "set": set, "sorted": sorted}
# str/bytes methods that make a new value from a constant receiver and constant arguments.
VALUE_METHODS = frozenset(
    {"split", "rsplit", "strip", "lstrip", "rstrip", "lower", "upper", "join", "replace", "encode"}
)
LITERALS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.Tuple,
    cst.List,
    cst.Set,
    cst.UnaryOperation,
)


class NotConstant(Exception):
    """str(exc) says why: 'NAMES is changed at pkg/other.py:4: NAMES.append()'."""


class Constants:
    """Resolves expressions of one module to constant values, judged over the repository."""

    def __init__(self, parsed: Parsed, data: CodemodInput, target: Target | None = None) -> None:
        self.parsed = parsed
        self.target = target
        self.path = data.path
        self.module = module_name(data.path)
        self.index: RepositoryIndex = index_for(data.repo_root, data.path, data.source)
        self.bindings = parsed.top_level_bindings()

    # -- names -----------------------------------------------------------------------------

    def module_changes(self, name: str) -> list[str]:
        return self.index.changes(self.module, name)

    def module_binding(self, name: str) -> cst.BaseExpression:
        """The value a module-level name is bound to, once, and never changed anywhere."""
        statements = self.bindings.get(name, [])
        if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
            raise NotConstant(f"{name} is not bound exactly once by a plain module-level statement")
        small = statements[0].body[0]
        value = assigned_value(small, name)
        if value is None:
            raise NotConstant(f"{name} is not a plain assignment")
        changes = self.module_changes(name)
        if changes:
            raise NotConstant(f"{name} is changed at {changes[0]}")
        return value

    def class_binding(self, node: cst.Attribute) -> tuple[cst.ClassDef, cst.BaseExpression]:
        """The class and value of `self.X`/`cls.X`/`Class.X` for the target's class's constant X."""
        target = self.target
        receiver = node.value
        if target is None or target.cls is None or not isinstance(receiver, cst.Name):
            raise NotConstant(f"{code(node)} is not an attribute of the function's class")
        cls = target.cls
        params = [*target.func.params.posonly_params, *target.func.params.params]
        first = params[0].name.value if params else None
        if receiver.value not in {cls.name.value, first}:
            raise NotConstant(f"{code(node)} is not an attribute of {cls.name.value}")
        attr = node.attr.value
        found = [
            assigned_value(small, attr)
            for stmt in cls.body.body
            if isinstance(stmt, cst.SimpleStatementLine)
            for small in stmt.body
        ]
        found = [value for value in found if value is not None]
        others = [
            s
            for s in cls.body.body
            if isinstance(s, cst.FunctionDef | cst.ClassDef) and s.name.value == attr
        ]
        if len(found) != 1 or others:
            raise NotConstant(f"{cls.name.value}.{attr} is not bound once in the class body")
        changes = self.index.attribute_changes(attr, self.path, cls.name.value)
        if changes:
            raise NotConstant(
                f"{cls.name.value}.{attr} may be changed or overridden ({changes[0]})"
            )
        return cls, found[0]

    # -- values ----------------------------------------------------------------------------

    def value(self, node: cst.BaseExpression, depth: int = 0):
        """The Python value of node, or NotConstant with the reason."""
        if depth > MAX_DEPTH:
            raise NotConstant(f"{code(node)} refers too deep")
        if isinstance(node, LITERALS):
            try:
                return ast.literal_eval(code(node.with_changes(lpar=[], rpar=[])).strip())
            except (ValueError, SyntaxError, TypeError, MemoryError):
                pass  # a tuple of names, say: judged part by part below
            if isinstance(node, cst.Tuple | cst.List | cst.Set):
                items = [self._element(e, depth) for e in node.elements]
                return {cst.Tuple: tuple, cst.List: list, cst.Set: set}[type(node)](items)
            raise NotConstant(f"{code(node)} is not a constant")
        if isinstance(node, cst.Name):
            if node.value in ("None", "True", "False"):
                return {"None": None, "True": True, "False": False}[node.value]
            if not self._is_module_name(node):
                raise NotConstant(f"{node.value} is not a module-level name")
            return self.value(self.module_binding(node.value), depth + 1)
        if isinstance(node, cst.Attribute):
            _, bound = self.class_binding(node)
            return self.value(bound, depth + 1)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add | cst.BitOr):
            left, right = self.value(node.left, depth + 1), self.value(node.right, depth + 1)
            try:
                return left + right if isinstance(node.operator, cst.Add) else left | right
            except TypeError as exc:
                raise NotConstant(f"{code(node)} does not combine ({exc})") from None
        if isinstance(node, cst.Call):
            return self._call_value(node, depth)
        raise NotConstant(f"{code(node)} is not a constant")

    def _element(self, element: cst.BaseElement, depth: int):
        if isinstance(element, cst.StarredElement):
            raise NotConstant(f"{code(element)} unpacks a value")
        return self.value(element.value, depth + 1)

    def _call_value(self, call: cst.Call, depth: int):
        if any(arg.keyword is not None or arg.star for arg in call.args):
            raise NotConstant(f"{code(call)} has keyword or unpacked arguments")
        arguments = [self.value(arg.value, depth + 1) for arg in call.args]
        func = call.func
        if (
            isinstance(func, cst.Name)
            and func.value in BUILDERS
            and func.value not in self.bindings
            and len(arguments) <= 1
        ):
            try:
                return BUILDERS[func.value](*arguments)
            except TypeError as exc:
                raise NotConstant(f"{code(call)} fails ({exc})") from None
        if isinstance(func, cst.Attribute) and func.attr.value in VALUE_METHODS:
            receiver = self.value(func.value, depth + 1)
            if isinstance(receiver, str | bytes):
                try:
                    return getattr(receiver, func.attr.value)(*arguments)
                except (TypeError, ValueError) as exc:
                    raise NotConstant(f"{code(call)} fails ({exc})") from None
        raise NotConstant(f"{code(call)} is a call whose result is not known to be constant")

    def _is_module_name(self, node: cst.Name) -> bool:
        scope = self.parsed.scope(node)
        if scope is None:
            return node.value in self.bindings
        assignments = list(scope[node.value])
        module_scope = self.parsed.scope(self.parsed.module)
        return bool(assignments) and all(a.scope is module_scope for a in assignments)


def assigned_value(small: cst.BaseSmallStatement, name: str) -> cst.BaseExpression | None:
    """The value of `name = value` or `name: T = value`, else None."""
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value == name
    ):
        return small.value
    if (
        isinstance(small, cst.AnnAssign)
        and isinstance(small.target, cst.Name)
        and small.target.value == name
    ):
        return small.value
    return None
