"""What the whole repository does to module-level names, so a codemod judges constants repo-wide.

A module-level name is a constant when nothing rebinds or mutates it: not its own module (a second
binding, `global NAME`, `NAME.append(...)`, `NAME[k] = v`) and not any other module of the
repository (`mod.NAME = ...`, `from mod import NAME; NAME.update(...)`). The index records every
such write, with where it happens, so a refusal names it. It is built with `ast` (fast, no
metadata) over the repository's Python files, the target file taken from the codemod input.

Without a repository root the index covers the target file alone: the judgement is then the
module's, as before.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from skills.codemods.purity import MUTATING_METHODS, PURE_MODULE_FUNCTIONS, READ_ONLY_CALLEES

SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".venv", "venv", "env", "node_modules", "__pycache__", "build", "dist", ".tox"}
)
MAX_FILES = 3000  # past this the index is incomplete, and every name counts as changed
MAX_FILE_BYTES = 1_000_000
ENVIRON_WRITERS = frozenset({"putenv", "unsetenv", "setenv", "delenv"})


def module_name(path: str) -> str:
    """`pkg/mod.py` -> `pkg.mod`; `pkg/__init__.py` -> `pkg`; `src/` layouts lose `src`."""
    dotted = path.removesuffix(".py").replace(os.sep, "/").strip("/").replace("/", ".")
    dotted = dotted.removesuffix(".__init__")
    return dotted.removeprefix("src.")


@dataclass
class RepositoryIndex:
    """Where each "module.NAME" is rebound or changed, and where os.environ is written."""

    writes: dict[str, list[str]] = field(default_factory=dict)
    # attribute name -> where `obj.attr` is assigned or changed, and where a class body binds it
    attribute_writes: dict[str, list[str]] = field(default_factory=dict)
    class_bindings: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # method name -> (path, class, "path:line") of every class body that defines it: a call
    # `self.name()` may run any of them (a subclass overrides)
    method_definitions: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    # class name -> the last part of each base's name, for every class statement with that name
    class_bases: dict[str, set[str]] = field(default_factory=dict)
    environ_writes: list[str] = field(default_factory=list)
    complete: bool = True

    def changes(self, module: str, name: str) -> list[str]:
        """Where `name` of `module` is rebound or mutated ("path:line: what"), [] for a constant."""
        if not self.complete:
            return [f"the repository has more than {MAX_FILES} Python files; not indexed"]
        return self.writes.get(f"{module}.{name}", []) + self.writes.get(f"*.{name}", [])

    def attribute_changes(self, attr: str, path: str, class_name: str) -> list[str]:
        """Where class_name's attribute is assigned, changed, or bound by another class body
        (a subclass may override it)."""
        if not self.complete:
            return [f"the repository has more than {MAX_FILES} Python files; not indexed"]
        others = [
            where
            for (in_path, in_class, where) in self.class_bindings.get(attr, [])
            if (in_path, in_class) != (path, class_name)
        ]
        return self.attribute_writes.get(attr, []) + others

    def method_overrides(self, method: str, path: str, class_name: str) -> list[str]:
        """Where a subclass of class_name (judged by name, at any depth) defines `method`."""
        if not self.complete:
            return [f"the repository has more than {MAX_FILES} Python files; not indexed"]
        subclasses = self.subclasses(class_name)
        return [
            where
            for (in_path, in_class, where) in self.method_definitions.get(method, [])
            if in_class in subclasses and (in_path, in_class) != (path, class_name)
        ]

    def subclasses(self, class_name: str) -> set[str]:
        """Names of the classes that derive from class_name, directly or not."""
        found: set[str] = set()
        frontier = {class_name}
        while frontier:
            frontier = {
                name for name, bases in self.class_bases.items() if bases & frontier
            } - found
            found |= frontier
        return found

    def add(self, qualified: str, where: str) -> None:
        self.writes.setdefault(qualified, []).append(where)


def index_for(root: str | None, path: str, source: str) -> RepositoryIndex:
    """The index of the repository at root (the file at path read from source), or of the file."""
    if not root:
        return _index_sources(((path, source),))
    return _index_repository(str(Path(root).resolve()), path, source, _signature(Path(root)))


def _signature(root: Path) -> tuple:
    """The Python files with their sizes and times: the cache key of a repository's index."""
    files = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.endswith(".py"):
                full = Path(directory, name)
                try:
                    stat = full.stat()
                except OSError:
                    continue
                files.append((str(full.relative_to(root)), stat.st_size, stat.st_mtime_ns))
                if len(files) > MAX_FILES:
                    return (None,)
    return tuple(files)


@lru_cache(maxsize=8)
def _index_repository(root: str, path: str, source: str, signature: tuple) -> RepositoryIndex:
    if signature == (None,):
        return RepositoryIndex(complete=False)
    sources = [(path, source)]
    for relative, size, _ in signature:
        if relative == path or size > MAX_FILE_BYTES:
            continue
        try:
            text = Path(root, relative).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        sources.append((relative, text))
    return _index_sources(tuple(sources))


def _index_sources(sources) -> RepositoryIndex:
    index = RepositoryIndex()
    for path, text in sources:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue  # a file that does not import cannot change anything
        _ModuleWrites(index, path, tree).scan()
    return index


class _ModuleWrites:
    """The writes one module makes to its own and to imported modules' names."""

    def __init__(self, index: RepositoryIndex, path: str, tree: ast.Module) -> None:
        self.index = index
        self.path = path
        self.tree = tree
        self.module = module_name(path)
        self.aliases: dict[str, str] = {}  # local name -> qualified name ("pkg.mod" or "pkg.X")
        self.star = False
        self.first_binding: set[str] = set()

    def scan(self) -> None:
        self._imports()
        for stmt in self.tree.body:
            self._module_bindings(stmt)
        for node in ast.walk(self.tree):
            self._node(node)

    def _where(self, node: ast.AST, what: str) -> str:
        return f"{self.path}:{getattr(node, 'lineno', 0)}: {what}"

    def _imports(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.aliases[head] = head
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name == "*":
                        self.star = True
                        continue
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _module_bindings(self, stmt: ast.stmt) -> None:
        """A module-level name bound twice is rebound (the first binding is its definition)."""
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            targets = [stmt.target]
        elif isinstance(stmt, ast.For | ast.AsyncFor | ast.With | ast.If | ast.Try | ast.While):
            for inner in ast.walk(stmt):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    self.index.add(
                        f"{self.module}.{inner.id}", self._where(inner, f"{inner.id} rebound")
                    )
            return
        for target in targets:
            for inner in ast.walk(target):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    if inner.id in self.first_binding or isinstance(stmt, ast.AugAssign):
                        self.index.add(
                            f"{self.module}.{inner.id}", self._where(inner, f"{inner.id} rebound")
                        )
                    self.first_binding.add(inner.id)

    def _qualified(self, node: ast.expr) -> str | None:
        """The module-level name an expression's root refers to: `NAME`, `mod.NAME`, `X.NAME`."""
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            return f"{self.module}.{node.id}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = self.aliases.get(node.value.id)
            if base is not None:
                return f"{base}.{node.attr}"
        return None

    def _root(self, node: ast.expr) -> ast.expr:
        """`NAME` of `NAME[k].x` (or `mod.NAME` of `mod.NAME[k]`)."""
        while isinstance(node, ast.Subscript | ast.Attribute):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in self.aliases
            ):
                return node
            node = node.value
        return node

    def _record(self, node: ast.expr, at: ast.AST, what: str) -> None:
        qualified = self._qualified(node)
        if qualified is None:
            return
        self.index.add(qualified, self._where(at, what))
        if self.star and isinstance(node, ast.Name) and node.id not in self.aliases:
            self.index.add(f"*.{node.id}", self._where(at, what))

    def _node(self, node: ast.AST) -> None:
        if isinstance(node, ast.ClassDef):
            bases = self.index.class_bases.setdefault(node.name, set())
            bases.update(ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases)
            for stmt in node.body:
                for name in _assigned_names(stmt):
                    where = f"{self.path}:{stmt.lineno}: class {node.name} binds {name}"
                    self.index.class_bindings.setdefault(name, []).append(
                        (self.path, node.name, where)
                    )
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                    where = f"{self.path}:{stmt.lineno}: class {node.name} defines {stmt.name}"
                    self.index.method_definitions.setdefault(stmt.name, []).append(
                        (self.path, node.name, where)
                    )
        elif isinstance(node, ast.Global):
            for name in node.names:
                self.index.add(f"{self.module}.{name}", self._where(node, f"global {name}"))
        elif isinstance(node, ast.Call):
            self._call(node)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                self._target(node, target)

    def _target(self, statement: ast.AST, target: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._target(statement, element)
            return
        if isinstance(target, ast.Subscript | ast.Attribute):
            self._attribute_write(target, statement, f"{ast.unparse(target)} assigned")
            root = self._root(target)
            if _is_environ(target):
                self.index.environ_writes.append(self._where(statement, "os.environ written"))
            # `mod.NAME = v` rebinds NAME from outside; `NAME[k] = v` and `NAME.x = v` change it.
            if isinstance(root, ast.Name | ast.Attribute):
                self._record(root, statement, f"{ast.unparse(target)} assigned")

    def _attribute_write(self, node: ast.expr, at: ast.AST, what: str) -> None:
        """`obj.attr = v`, `obj.attr[k] = v`, `obj.attr.append(v)`: attr may be a class's."""
        while isinstance(node, ast.Subscript):
            node = node.value
        if isinstance(node, ast.Attribute):
            self.index.attribute_writes.setdefault(node.attr, []).append(self._where(at, what))

    def _call(self, call: ast.Call) -> None:
        func = call.func
        if isinstance(func, ast.Attribute):
            receiver = func.value
            if func.attr in MUTATING_METHODS or func.attr in ENVIRON_WRITERS:
                if _is_environ(receiver) or func.attr in ENVIRON_WRITERS:
                    self.index.environ_writes.append(self._where(call, f".{func.attr}()"))
                root = self._root(receiver)
                self._record(root, call, f"{ast.unparse(func)}()")
                self._attribute_write(receiver, call, f"{ast.unparse(func)}()")
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and call.args:
            first = call.args[0]
            if len(call.args) > 1 and isinstance(call.args[1], ast.Constant):
                qualified = self._qualified(first)
                if qualified is not None:
                    self.index.add(
                        f"{qualified}.{call.args[1].value}", self._where(call, f"{func.id}()")
                    )
        callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        qualified_callee = self._qualified(func) or ""
        if callee in READ_ONLY_CALLEES or qualified_callee.startswith(PURE_MODULE_FUNCTIONS):
            return  # these only read their argument
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            if isinstance(arg, ast.Name | ast.Attribute) and self._root(arg) is arg:
                self._record(arg, call, f"passed to {ast.unparse(func)}(), which might change it")


def _assigned_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        targets = [stmt.target]
    else:
        return []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _is_environ(node: ast.expr) -> bool:
    text = ast.unparse(node)
    return text.endswith("environ") or ".environ[" in text or text.startswith("environ[")
