"""hoist-loop-invariant, what may change a value between iterations besides the loop's own names.

A call is invariant only if nothing reachable during the loop changes what it reads:
- another name for the same object (`d_append = d.append`, `row = grid[0]`, `me = self`) lets the
  loop change it without naming it;
- a generator that yields inside the loop hands control to its consumer between items, and the
  consumer may change anything it can reach: the arguments, globals, `self`. Only an object the
  function made itself (a literal, a comprehension, a constructor's result) is out of its reach;
- code the loop calls may change the object through a reference of its own. For `self.attr`,
  a call `self.method()` is allowed when the method (and what it calls on self) only reads, no
  subclass in the repository overrides it, and it calls nothing unknown.
Each check returns why not ('' when it passes), so the refusal names the real reason.
"""

from __future__ import annotations

import libcst as cst

from skills.codemods._cst import Parsed, Target, code, function_locals, walk, walk_own
from skills.codemods.purity import (
    IMMUTABLE_FACTORIES,
    IMMUTABLE_VALUE_METHODS,
    MAPPING_METHODS,
    MUTABLE_FACTORIES,
    PURE_BUILTINS,
    STR_METHODS,
)
from skills.codemods.repository import RepositoryIndex

# Methods of the standard containers that only read (what `self.x.get(k)` or
# `row["signals"].items()` may call): the same read-only mapping methods every codemod assumes.
READING_METHODS = IMMUTABLE_VALUE_METHODS | STR_METHODS | MAPPING_METHODS | {"count", "index"}
FRESH_LITERALS = (
    cst.List,
    cst.Dict,
    cst.Set,
    cst.Tuple,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.Integer,
    cst.Float,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
)


def chain_text(node: cst.BaseExpression) -> str | None:
    """`self.items` of `self.items`, `d` of `d[0]` (the object indexed); None for other shapes."""
    while isinstance(node, cst.Subscript):
        node = node.value
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    return ".".join([node.value, *reversed(parts)])


def read_paths(parsed: Parsed, call: cst.Call) -> set[str]:
    """The objects a call reads: `self.items` of len(self.items), `d` of tuple(d)."""
    paths: set[str] = set()
    callees = {id(n.func) for n in walk(call) if isinstance(n, cst.Call)}
    for node in walk(call):
        if not isinstance(node, cst.Name | cst.Attribute) or id(node) in callees:
            continue
        parent = parsed.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            continue  # part of a longer chain, which is recorded whole
        if isinstance(parent, cst.Attribute | cst.Arg) and node is not getattr(
            parent, "value", None
        ):
            continue  # the attribute's or keyword's own name
        text = chain_text(node)
        if text is not None and not _is_module_reference(parsed, text):
            paths.add(text)
    for node in walk(call):  # a method's receiver: `name.strip()` reads name
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            text = chain_text(node.func.value)
            if text is not None and not _is_module_reference(parsed, text):
                paths.add(text)
    return paths


def _is_module_reference(parsed: Parsed, text: str) -> bool:
    root = text.split(".")[0]
    for statement in parsed.top_level_bindings().get(root, []):
        if isinstance(statement, cst.SimpleStatementLine) and isinstance(
            statement.body[0], cst.Import | cst.ImportFrom
        ):
            return True
    return False


def related(path: str, other: str) -> bool:
    """One path is the other or leads to it (`self` and `self.items`, `d` and `d.append`)."""
    return path == other or path.startswith(other + ".") or other.startswith(path + ".")


def alias_problem(parsed: Parsed, func: cst.FunctionDef, paths: set[str]) -> str:
    """Why an assignment in the function gives a read object a second name, or ''."""
    for node in walk_own(func.body):
        if isinstance(node, cst.Assign | cst.AnnAssign | cst.NamedExpr):
            values = [node.value] if node.value is not None else []
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            values = [node.item]
        else:
            continue
        if values and isinstance(values[0], cst.Tuple | cst.List):
            values = [e.value for e in values[0].elements]
        for value in values:
            text = chain_text(value) if isinstance(value, cst.Name | cst.Attribute) else None
            if isinstance(value, cst.Subscript):
                text = chain_text(value)
                text = text + ".[]" if text else None  # an item of the object, not the object
            for path in paths:
                if text is not None and related(text, path):
                    return (
                        f"reads {path}, which has another name: {code(value)} is bound to "
                        f"{_bound_text(node)} at line {parsed.line(node)}, and the loop could "
                        "change it through that name unseen"
                    )
    return ""


def _bound_text(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Assign):
        return " = ".join(code(t.target) for t in node.targets)
    if isinstance(node, cst.AnnAssign | cst.NamedExpr):
        return code(node.target)
    return code(node.asname.name) if isinstance(node, cst.WithItem) and node.asname else "a name"


def fresh_locals(func: cst.FunctionDef) -> set[str]:
    """Locals bound only to objects the function made (literals, comprehensions, constructors):
    nothing outside the function holds them unless the function hands them out."""
    bound: dict[str, list[cst.BaseExpression | None]] = {}
    for node in walk_own(func.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    bound.setdefault(target.target.value, []).append(node.value)
    candidates = {name for name, values in bound.items() if all(map(_made_here, values))}
    # Bound any other way too (a loop target, a parameter, `with ... as`, augmented): not fresh.
    others = function_locals(func) - set(bound)
    for node in walk_own(func.body):
        if isinstance(node, cst.AugAssign | cst.For | cst.CompFor | cst.AsName | cst.NamedExpr):
            target = getattr(node, "target", None) or getattr(node, "name", None)
            others |= {n.value for n in walk(target) if isinstance(n, cst.Name)}
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if not isinstance(target.target, cst.Name):
                    others |= {n.value for n in walk(target.target) if isinstance(n, cst.Name)}
    return candidates - others


def _made_here(value: cst.BaseExpression | None) -> bool:
    if isinstance(value, FRESH_LITERALS):
        return True
    if isinstance(value, cst.Call):
        func = value.func
        callee = func.attr.value if isinstance(func, cst.Attribute) else code(func)
        return callee in MUTABLE_FACTORIES | IMMUTABLE_FACTORIES
    return False


def yields_in(loop: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Yield) for n in walk_own(loop)) or isinstance(loop, cst.Yield)


def generator_problem(func: cst.FunctionDef, paths: set[str], fresh: set[str]) -> str:
    """Why a read object may change while the generator is suspended at a yield, or ''."""
    for path in sorted(paths):
        root = path.split(".")[0]
        if root in fresh:
            continue
        return (
            f"reads {path}, and {func.name.value} is a generator that yields inside the loop: "
            "between two items its consumer runs and may change what it can reach "
            f"({root} {'comes from the caller' if root in function_locals(func) else 'is global'})"
        )
    return ""


class ReadOnlyMethods:
    """Which methods of one class only read `self`, judged from their bodies and the repository:
    no write into self, calls only to pure builtins, reading methods, and other such methods."""

    def __init__(self, parsed: Parsed, target: Target, index: RepositoryIndex) -> None:
        self.parsed = parsed
        self.cls = target.cls
        self.index = index
        self.methods = {}
        if self.cls is not None and isinstance(self.cls.body, cst.IndentedBlock):
            self.methods = {
                s.name.value: s for s in self.cls.body.body if isinstance(s, cst.FunctionDef)
            }
        self.verdicts: dict[str, str] = {}

    def problem(self, name: str) -> str:
        """'' when self.name() only reads; otherwise what it does that might change self."""
        if name in self.verdicts:
            return self.verdicts[name]
        self.verdicts[name] = ""  # a recursive call is judged by the rest of the body
        self.verdicts[name] = self._judge(name)
        return self.verdicts[name]

    def _judge(self, name: str) -> str:
        func = self.methods.get(name)
        if func is None or self.cls is None:
            return f"{name} is not defined in the class, so what it does cannot be read"
        overrides = self.index.method_overrides(name, self.parsed.path, self.cls.name.value)
        if overrides:
            return f"{name} is overridden by a subclass ({overrides[0]})"
        if any(isinstance(n, cst.Yield | cst.Await) for n in walk_own(func.body)):
            return f"{name} yields or awaits"
        params = [*func.params.posonly_params, *func.params.params]
        me = params[0].name.value if params else "self"
        fresh = fresh_locals(func)
        for node in walk_own(func.body):
            why = self._node_problem(node, me, fresh)
            if why:
                return f"{name} {why} (line {self.parsed.line(node)})"
        return ""

    def _node_problem(self, node: cst.CSTNode, me: str, fresh: set[str]) -> str:
        if isinstance(node, cst.AssignTarget | cst.AugAssign | cst.Del):
            target = node.target
            if isinstance(target, cst.Attribute | cst.Subscript):
                root = (chain_text(target) or "").split(".")[0]
                if root not in fresh:
                    return f"writes {code(target)}"
        if isinstance(node, cst.Global | cst.Nonlocal):
            return "rebinds outer state"
        if not isinstance(node, cst.Call):
            return ""
        func = node.func
        if isinstance(func, cst.Name):
            if func.value in PURE_BUILTINS and not self.parsed.qualified_names(func) - {
                f"builtins.{func.value}"
            }:
                return ""
            return f"calls {func.value}(), which the repository index cannot show only reads"
        if not isinstance(func, cst.Attribute):
            return f"calls {code(func)}(), which cannot be read"
        receiver = chain_text(func.value) or ""
        method = func.attr.value
        if receiver == me:
            inner = self.problem(method)
            return f"calls self.{method}(), which {inner.split(' ', 1)[1]}" if inner else ""
        if receiver.split(".")[0] in fresh or method in READING_METHODS:
            return ""
        return f"calls {code(func)}(), which the repository index cannot show only reads"
