"""A static call graph over the repository: which of its own functions a function calls.

A finding names the function a profile blamed, but its time is often spent in a helper it calls
(issue #12 item 4). The solver tries its skills on those callees too, and diagnosis-only skills
look for their trigger (a lock, a sleep, a query) there. Only calls that resolve to a definition
inside the repository count, read with `ast` (no import of the repository's code): bare names
defined or imported in the module, `self.`/`cls.` methods of the enclosing class, `Class.method`
and `module.function` through the module's imports. Calls made inside a loop come first.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

MAX_DEPTH = 2
MAX_CALLEES = 6

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Callee:
    """A repository function reached from a finding's function."""

    path: str  # repo-relative
    qualname: str  # "func" or "Class.method"
    symbol: str  # dotted module path + qualname, as a finding would name it
    caller: str  # the symbol of the function that calls it
    depth: int  # 1: called by the finding's function; 2: by one of those
    in_loop: bool  # called inside a loop or comprehension of its caller


@dataclass
class _Module:
    path: str
    definitions: dict[str, ast.AST]
    imports: dict[str, str]  # local name -> dotted target (a module or module.attribute)


def module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _definitions(tree: ast.AST, prefix: str = "") -> dict[str, ast.AST]:
    found: dict[str, ast.AST] = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, (*_DEFS, ast.ClassDef)):
            name = f"{prefix}{node.name}"
            found[name] = node
            if isinstance(node, ast.ClassDef):
                found.update(_definitions(node, f"{name}."))
    return found


def _imports(tree: ast.Module, path: str) -> dict[str, str]:
    package = module_name(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    found[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*parent, *([base] if base else [])])
            for alias in node.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = f"{base}.{alias.name}".strip(".")
    return found


class _Repository:
    """Parsed modules of one checkout, read on demand and kept for the solve."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, _Module | None] = {}

    def module(self, path: str) -> _Module | None:
        if path not in self.modules:
            self.modules[path] = self._parse(path)
        return self.modules[path]

    def _parse(self, path: str) -> _Module | None:
        file = self.root / path
        try:
            if not file.resolve().is_relative_to(self.root.resolve()) or not file.is_file():
                return None
            tree = ast.parse(file.read_text(errors="replace"))
        except (OSError, SyntaxError, ValueError):
            return None
        return _Module(path, _definitions(tree), _imports(tree, path))

    def module_path(self, dotted: str) -> str | None:
        base = dotted.replace(".", "/")
        for prefix in ("", "src/"):
            for rel in (f"{prefix}{base}.py", f"{prefix}{base}/__init__.py"):
                if self.module(rel) is not None:
                    return rel
        return None

    def function(self, dotted: str) -> tuple[str, str] | None:
        """(path, qualname) of a dotted name `pkg.mod.func` or `pkg.mod.Class.method`."""
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            path = self.module_path(".".join(parts[:cut]))
            if path is not None:
                return self._defined(path, ".".join(parts[cut:]))
        return None

    def _defined(self, path: str, qualname: str) -> tuple[str, str] | None:
        module = self.module(path)
        if module is None:
            return None
        node = module.definitions.get(qualname)
        if isinstance(node, ast.ClassDef):
            qualname = f"{qualname}.__init__"
            node = module.definitions.get(qualname)
        return (path, qualname) if isinstance(node, _DEFS) else None

    def resolve(self, call: ast.Call, path: str, qualname: str) -> tuple[str, str] | None:
        module = self.module(path)
        if module is None:
            return None
        func = call.func
        if isinstance(func, ast.Name):
            if func.id in module.definitions:
                return self._defined(path, func.id)
            if func.id in module.imports:
                return self.function(module.imports[func.id])
            return None
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return None
        owner, attr = func.value.id, func.attr
        if owner in ("self", "cls") and "." in qualname:
            return self._defined(path, f"{qualname.rsplit('.', 1)[0]}.{attr}")
        if isinstance(module.definitions.get(owner), ast.ClassDef):
            return self._defined(path, f"{owner}.{attr}")
        if owner in module.imports:
            target = module.imports[owner]
            target_path = self.module_path(target)
            if target_path is not None:
                return self._defined(target_path, attr)
            return self.function(f"{target}.{attr}")
        return None


def _children(node: ast.AST, in_loop: bool) -> list[tuple[ast.AST, bool]]:
    """`node`'s children, each with whether it runs once per iteration of some loop.

    A for loop's iterable and else run once; a while loop's test runs every time; of a
    comprehension, only the first iterable is evaluated once.
    """
    if isinstance(node, ast.For | ast.AsyncFor):
        body = {id(child) for child in node.body}
        return [(c, in_loop or id(c) in body) for c in ast.iter_child_nodes(node)]
    if isinstance(node, ast.While):
        once = {id(child) for child in node.orelse}
        return [(c, in_loop or id(c) not in once) for c in ast.iter_child_nodes(node)]
    if isinstance(node, _COMPREHENSIONS):
        parts: list[tuple[ast.AST, bool]] = [
            (c, True) for c in ast.iter_child_nodes(node) if not isinstance(c, ast.comprehension)
        ]
        for index, gen in enumerate(node.generators):
            parts.append((gen.iter, in_loop if index == 0 else True))
            parts += [(gen.target, True), *((cond, True) for cond in gen.ifs)]
        return parts
    return [(c, in_loop) for c in ast.iter_child_nodes(node)]


def _calls(node: ast.AST, in_loop: bool = False) -> list[tuple[ast.Call, bool]]:
    """Every call under `node` in source order, with whether a loop encloses it."""
    found: list[tuple[ast.Call, bool]] = []
    for child, looping in _children(node, in_loop):
        if isinstance(child, ast.Call):
            found.append((child, looping))
        found.extend(_calls(child, looping))
    return found


def callees(
    root: Path, path: str, qualname: str, *, exclude: set[str] | None = None
) -> list[Callee]:
    """Repository functions that `qualname` in `path` calls, one or two levels deep.

    Depth 1 before depth 2, calls made in a loop before the others; at most MAX_CALLEES, none
    named in `exclude` (symbols the caller already handles, e.g. the finding's functions).
    """
    repo = _Repository(root)
    seen = {f"{module_name(path)}.{qualname}", *(exclude or set())}
    found: list[Callee] = []
    frontier = [(path, qualname, f"{module_name(path)}.{qualname}")]
    for depth in range(1, MAX_DEPTH + 1):
        level: list[Callee] = []
        for caller_path, caller_qualname, caller_symbol in frontier:
            module = repo.module(caller_path)
            node = module.definitions.get(caller_qualname) if module else None
            if not isinstance(node, _DEFS):
                continue
            for call, in_loop in _calls(node):
                target = repo.resolve(call, caller_path, caller_qualname)
                if target is None:
                    continue
                symbol = f"{module_name(target[0])}.{target[1]}"
                if symbol in seen:
                    continue
                seen.add(symbol)
                level.append(Callee(*target, symbol, caller_symbol, depth, in_loop))
        level.sort(key=lambda callee: not callee.in_loop)
        found.extend(level)
        frontier = [(c.path, c.qualname, c.symbol) for c in level]
    return found[:MAX_CALLEES]


def loop_texts(source: str) -> list[str]:
    """The text of each loop body and comprehension in a function's source (for triggers that
    need a pattern inside a loop, such as a query per item)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return []
    text = textwrap.dedent(source)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, _LOOPS):
            parts = [*node.body, *([node.test] if isinstance(node, ast.While) else [])]
        elif isinstance(node, _COMPREHENSIONS):
            elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            parts = [*elements, *(cond for gen in node.generators for cond in gen.ifs)]
        else:
            continue
        segments = [ast.get_source_segment(text, part) or "" for part in parts]
        found.append("\n".join(segment for segment in segments if segment))
    return found


def loop_calls(root: Path, path: str, qualname: str) -> list[str]:
    """Symbols of repository functions called inside a loop of the function."""
    repo = _Repository(root)
    module = repo.module(path)
    node = module.definitions.get(qualname) if module else None
    if not isinstance(node, _DEFS):
        return []
    symbols: list[str] = []
    for call, in_loop in _calls(node):
        target = repo.resolve(call, path, qualname) if in_loop else None
        if target is not None:
            symbols.append(f"{module_name(target[0])}.{target[1]}")
    return symbols
