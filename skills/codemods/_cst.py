"""LibCST plumbing shared by the codemods: parse, find the target, resolve names, check a result.

Writing code (fresh names, placed statements, imports) lives in skills.codemods.edits.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import libcst as cst
from libcst._metadata_dependent import LazyValue
from libcst.metadata import (
    ExpressionContext,
    ExpressionContextProvider,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult

_EMPTY = cst.Module(body=[])
LOOP_TYPES = (cst.For, cst.While)
COMPREHENSION_TYPES = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
IMPORT_TYPES = (cst.Import, cst.ImportFrom)
BUILTIN_NAMES = frozenset(dir(builtins))


def code(node: cst.CSTNode) -> str:
    """Source text of a node, as LibCST would print it."""
    return _EMPTY.code_for_node(node)


@dataclass
class Target:
    func: cst.FunctionDef
    cls: cst.ClassDef | None
    top_stmt: cst.CSTNode  # the module-level statement that contains the function
    top_index: int


class Parsed:
    """A parsed module with lazily resolved metadata; the nodes belong to `self.module`."""

    def __init__(self, source: str, path: str = "<source>") -> None:
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as exc:
            raise CodemodRefused(f"{path} does not parse: {exc.message}") from None
        self.source = source
        self.path = path
        self.wrapper = MetadataWrapper(module)
        self.module = self.wrapper.module
        self._cache: dict[type, object] = {}

    def _resolved(self, provider):
        if provider not in self._cache:
            self._cache[provider] = self.wrapper.resolve(provider)
        return self._cache[provider]

    def meta(self, provider, node: cst.CSTNode, default=None):
        value = self._resolved(provider).get(node, default)
        if isinstance(value, LazyValue):
            value = value()
        return value

    def line(self, node: cst.CSTNode) -> int:
        return self.meta(PositionProvider, node).start.line

    def end_line(self, node: cst.CSTNode) -> int:
        return self.meta(PositionProvider, node).end.line

    def column(self, node: cst.CSTNode) -> int:
        return self.meta(PositionProvider, node).start.column

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in (self.meta(QualifiedNameProvider, node) or set())}

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.meta(ParentNodeProvider, node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def scope(self, node: cst.CSTNode):
        return self.meta(ScopeProvider, node)

    def is_load(self, node: cst.Name) -> bool:
        return self.meta(ExpressionContextProvider, node) == ExpressionContext.LOAD

    def is_store(self, node: cst.CSTNode) -> bool:
        return self.meta(ExpressionContextProvider, node) == ExpressionContext.STORE

    # -- targets ---------------------------------------------------------------------------

    def find_target(self, qualname: str) -> Target:
        """The function named by qualname ("func", "Class.method", "outer.inner")."""
        parts = [p for p in qualname.split(".") if p]
        if not parts:
            raise CodemodRefused("no target function named")
        module_parts = self.path.removesuffix(".py").replace("/", ".").split(".")
        # Accept a full dotted symbol ("pkg.mod.func") as well as the in-module qualname.
        for start in range(len(parts)):
            found = self._find_parts(parts[start:])
            if found is not None:
                if start and parts[:start] != module_parts[-start:]:
                    continue
                return found
        raise CodemodRefused(f"{qualname} is not defined in {self.path}")

    def _find_parts(self, parts: list[str]) -> Target | None:
        body: Iterable[cst.CSTNode] = self.module.body
        cls: cst.ClassDef | None = None
        top_stmt = None
        top_index = -1
        for depth, name in enumerate(parts):
            matches = [
                (i, s)
                for i, s in enumerate(body)
                if isinstance(s, cst.FunctionDef | cst.ClassDef) and s.name.value == name
            ]
            if not matches:
                return None
            index, node = matches[-1]  # the last definition wins at import time
            if depth == 0:
                top_stmt, top_index = node, index
            last = depth == len(parts) - 1
            if last:
                if not isinstance(node, cst.FunctionDef):
                    return None
                return Target(func=node, cls=cls, top_stmt=top_stmt, top_index=top_index)
            cls = node if isinstance(node, cst.ClassDef) else None
            block = node.body
            if not isinstance(block, cst.IndentedBlock):
                return None
            body = block.body
        return None

    # -- module-level facts --------------------------------------------------------------

    def top_level_bindings(self) -> dict[str, list[cst.CSTNode]]:
        """name -> module-level statements that bind it (assignments, imports, defs)."""
        bindings: dict[str, list[cst.CSTNode]] = {}
        for stmt in self.module.body:
            for name in bound_names(stmt):
                bindings.setdefault(name, []).append(stmt)
        return bindings

    def module_import(self, module_name: str) -> str | None:
        """Local name of `import module_name [as alias]` at module level, if any."""
        for stmt in self.module.body:
            for small in _small_statements(stmt):
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if code(alias.name) == module_name:
                            if alias.asname is not None:
                                return code(alias.asname.name)
                            if "." not in module_name:
                                return module_name
        return None

    def from_import(self, module_name: str, attr: str) -> str | None:
        """Local name of `from module_name import attr [as alias]`, if any."""
        for stmt in self.module.body:
            for small in _small_statements(stmt):
                if (
                    isinstance(small, cst.ImportFrom)
                    and small.module is not None
                    and not small.relative
                    and code(small.module) == module_name
                    and not isinstance(small.names, cst.ImportStar)
                ):
                    for alias in small.names:
                        if code(alias.name) == attr:
                            return code(alias.asname.name) if alias.asname else attr
        return None

    def all_names(self) -> set[str]:
        return {n.value for n in walk(self.module) if isinstance(n, cst.Name)}


def _small_statements(stmt: cst.CSTNode) -> list[cst.CSTNode]:
    if isinstance(stmt, cst.SimpleStatementLine):
        return list(stmt.body)
    return []


def bound_names(stmt: cst.CSTNode) -> list[str]:
    """Names a module-level statement binds (not descending into functions/classes)."""
    names: list[str] = []
    if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
        return [stmt.name.value]
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    names.extend(target_names(target.target))
            elif isinstance(small, cst.AnnAssign | cst.AugAssign):
                names.extend(target_names(small.target))
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is not None:
                        names.append(code(alias.asname.name))
                    else:
                        names.append(code(alias.name).split(".")[0])
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    names.append(code(alias.asname.name) if alias.asname else code(alias.name))
        return names
    # Compound statements at module level (if/try/with/for): names bound anywhere inside.
    for node in walk(stmt):
        if isinstance(node, cst.FunctionDef | cst.ClassDef):
            names.append(node.name.value)
        elif isinstance(node, cst.SimpleStatementLine):
            names.extend(bound_names(node))
        elif isinstance(node, cst.For):
            names.extend(target_names(node.target))
    return names


def target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        names: list[str] = []
        for element in target.elements:
            names.extend(target_names(element.value))
        return names
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Pre-order traversal of a node and all its descendants."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def walk_own(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Like walk, but does not descend into nested functions, lambdas or classes."""
    stack = list(reversed(node.children))
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, cst.FunctionDef | cst.Lambda | cst.ClassDef):
            continue
        stack.extend(reversed(current.children))


def names_in(node: cst.CSTNode) -> set[str]:
    return {n.value for n in walk(node) if isinstance(n, cst.Name)}


def is_string_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return is_string_literal(node.left) and is_string_literal(node.right)
    return False


def literal_value(node: cst.BaseExpression):
    """The Python value of a constant literal (strings, numbers, tuples of those)."""
    return ast.literal_eval(code(node).strip())


def is_hashable_constant(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString | cst.Integer | cst.Float | cst.Imaginary):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return is_string_literal(node)
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus | cst.Plus):
        return isinstance(node.expression, cst.Integer | cst.Float)
    if isinstance(node, cst.Tuple):
        return all(is_hashable_constant(e.value) for e in node.elements)
    return False


def finish(
    data: CodemodInput, new_module: cst.Module, summary: str, first_line: int, last_line: int
) -> CodemodResult:
    """Validate the new source (it must parse and differ) and package the result."""
    new_source = new_module.code
    if new_source == data.source:
        raise CodemodRefused(f"nothing to change in {data.qualname}")
    try:
        compile(new_source, data.path or "<codemod>", "exec", dont_inherit=True)
    except SyntaxError as exc:  # a codemod bug: never hand out a patch that does not parse
        raise CodemodRefused(f"the rewritten file does not compile ({exc.msg}); refusing") from None
    _check_confined(data, new_source)
    return CodemodResult(
        new_source=new_source, summary=summary, first_line=first_line, last_line=last_line
    )


def _check_confined(data: CodemodInput, new_source: str) -> None:
    """Every module-level statement but the target's must survive unchanged, in order.

    Codemods may only add statements (an import, a module-level constant) around the function.
    """
    old_body = ast.parse(data.source).body
    new_body = ast.parse(new_source).body
    parts = set(data.qualname.split("."))
    kept = [
        ast.dump(stmt)
        for stmt in old_body
        if not (
            isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and stmt.name in parts
        )
    ]
    remaining = iter(ast.dump(stmt) for stmt in new_body)
    if not all(any(dump == candidate for candidate in remaining) for dump in kept):
        raise CodemodRefused(
            "the rewrite touched code outside the target function; refusing (a codemod bug)"
        )


def enclosing_statement(parsed: Parsed, node: cst.CSTNode) -> cst.BaseStatement:
    """The nearest statement (simple line or compound) that is directly inside a block."""
    current: cst.CSTNode = node
    for ancestor in parsed.ancestors(node):
        if isinstance(ancestor, cst.IndentedBlock | cst.Module) and isinstance(
            current, cst.BaseStatement
        ):
            return current
        current = ancestor
    raise CodemodRefused("could not find the statement around the change")


def bound_by(node: cst.CSTNode) -> list[str]:
    """Names one node binds: assignment, loop, with/except and walrus targets, def and class."""
    if isinstance(node, cst.FunctionDef | cst.ClassDef):
        return [node.name.value]
    if isinstance(
        node,
        cst.AssignTarget | cst.AnnAssign | cst.AugAssign | cst.For | cst.CompFor | cst.NamedExpr,
    ):
        return target_names(node.target)
    if isinstance(node, cst.AsName):
        return target_names(node.name)
    return []


def function_locals(func: cst.FunctionDef) -> set[str]:
    """Names bound inside a function (params, targets, imports, nested defs), not descending."""
    names: set[str] = set()
    params = func.params
    for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
        names.add(param.name.value)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    for node in walk_own(func.body):
        names.update(bound_by(node))
        if isinstance(node, cst.Import):
            for alias in node.names:
                names.add(
                    code(alias.asname.name) if alias.asname else code(alias.name).split(".")[0]
                )
        elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                names.add(code(alias.asname.name) if alias.asname else code(alias.name))
    return names


def global_declared(func: cst.FunctionDef) -> set[str]:
    names: set[str] = set()
    for node in walk_own(func.body):
        if isinstance(node, cst.Global | cst.Nonlocal):
            names.update(item.name.value for item in node.names)
    return names
