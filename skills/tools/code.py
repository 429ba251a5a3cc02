"""Tools that read the work tree: files, search, Python structure."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from skills.tools.sandbox import (
    RepoSandbox,
    ToolError,
    check_relative_path,
    decode_line,
    iter_lines,
    looks_binary,
    number_lines,
)

DEFAULT_READ_LINES = 400
MAX_READ_LINES = 2000
MAX_SEARCH_RESULTS = 200
MAX_LIST_RESULTS = 1000
# ast needs the whole file in memory; generated modules beyond this are not worth outlining.
MAX_PARSE_BYTES = 4 * 1024 * 1024
_SYMBOL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _open_text_file(sandbox: RepoSandbox, path: str) -> tuple[Path, str]:
    real = sandbox.resolve(path)
    rel = real.relative_to(sandbox.root).as_posix() if real != sandbox.root else "."
    if not real.exists():
        raise ToolError(f"no such file: {path}")
    if real.is_dir():
        raise ToolError(f"{path} is a directory; use search_code with a path glob to look inside")
    if not real.is_file():
        raise ToolError(f"{path} is not a regular file")
    with real.open("rb") as handle:
        if looks_binary(handle.read(8192)):
            raise ToolError(f"{rel} is a binary file; tools only read text files")
    return real, rel


def read_lines(real: Path, rel: str, start: int, end: int) -> tuple[list[tuple[int, str]], int]:
    """Lines start..end (1-based, inclusive) and the file's line count, reading in a stream."""
    selected: list[tuple[int, str]] = []
    total = 0
    with real.open("rb") as handle:
        for raw in iter_lines(handle):
            total += 1
            if total > end:
                # Only count the rest, in big chunks, so the header can say how long the file is.
                total += _count_lines(handle, first=raw)
                break
            if total >= start:
                selected.append((total, decode_line(raw, where=rel)))
    return selected, total


def _count_lines(handle, *, first: bytes) -> int:
    """Lines left in handle, given that `first` (already counted) was the last line read."""
    count = 0
    last = first
    while chunk := handle.read(1024 * 1024):
        count += chunk.count(b"\n")
        last = chunk
    # A last line without a final newline is still a line.
    return count + (1 if last is not first and not last.endswith(b"\n") else 0)


def _window(start_line: int | None, end_line: int | None) -> tuple[int, int]:
    start = max(1, start_line or 1)
    end = end_line if end_line is not None else start + DEFAULT_READ_LINES - 1
    if end < start:
        raise ToolError(f"end_line ({end}) is before start_line ({start})")
    return start, min(end, start + MAX_READ_LINES - 1)


def read_file(
    sandbox: RepoSandbox, path: str, start_line: int | None = None, end_line: int | None = None
) -> str:
    real, rel = _open_text_file(sandbox, path)
    start, end = _window(start_line, end_line)
    lines, total = read_lines(real, rel, start, end)
    if not lines:
        if total == 0:
            return f"{rel} is empty\n"
        raise ToolError(f"{rel} has {total} lines; start_line {start} is past the end")
    shown_end = lines[-1][0]
    more = f"; call again with start_line={shown_end + 1} for more" if shown_end < total else ""
    header = f"{rel} (lines {lines[0][0]}-{shown_end} of {total}{more})\n"
    return header + number_lines(lines)


# Perl-style classes models write out of habit, in POSIX ERE spelling (outside / inside [...]).
_CLASSES_OUTSIDE = {r"\d": "[0-9]", r"\D": "[^0-9]"}
_CLASSES_INSIDE = {r"\d": "0-9", r"\w": "[:alnum:]_", r"\s": "[:space:]"}


def _ere_pattern(pattern: str) -> str:
    r"""Translate \d and \D (which POSIX ERE lacks), and \d \w \s inside bracket expressions."""
    out: list[str] = []
    in_bracket = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            pair = pattern[index : index + 2]
            table = _CLASSES_INSIDE if in_bracket else _CLASSES_OUTSIDE
            out.append(table.get(pair, pair))
            index += 2
            continue
        out.append(char)
        if char == "[" and not in_bracket:
            in_bracket = True
            # A "]" right after "[" or "[^" is a literal member, not the end.
            for literal in ("^", "]"):
                if pattern[index + 1 : index + 2] == literal:
                    out.append(literal)
                    index += 1
        elif char == "]" and in_bracket:
            in_bracket = False
        index += 1
    return "".join(out)


def _pathspec(glob: str) -> str:
    if glob.strip().startswith(":"):
        raise ToolError("path must be a plain glob such as 'pkg/**/*.py', not git pathspec magic")
    # Same lexical rules as a file path: relative, no "..", not into .git.
    return f":(top,glob){check_relative_path(glob)}"


def search_code(
    sandbox: RepoSandbox, pattern: str, path: str | None = None, max_results: int = 50
) -> str:
    if not pattern:
        raise ToolError("pattern must not be empty")
    max_results = max(1, min(max_results, MAX_SEARCH_RESULTS))
    args = [
        "grep",
        "-n",
        "-I",
        "-E",
        "--no-color",
        "--full-name",
        # Bounds git's own output per file; the total is cut below.
        f"--max-count={max_results}",
        "-e",  # the pattern is always a pattern, even when it starts with "-"
        _ere_pattern(pattern),
        "--",
    ]
    if path and path.strip() not in (".", "./", "**"):
        args.append(_pathspec(path))
    result = sandbox.run(*args)
    where = f" in {path}" if path else ""
    if result.returncode == 1:
        return f"no matches for /{pattern}/{where}\n"
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise ToolError(f"search failed: {message[-1] if message else 'git grep error'}")
    lines = [line for line in result.stdout.splitlines() if line]
    shown = lines[:max_results]
    body = "\n".join(line if len(line) <= 300 else line[:300] + " …" for line in shown)
    note = ""
    if len(lines) > max_results:
        note = f"\n[truncated] {max_results} of {len(lines)}+ matching lines shown; narrow it"
    return f"{len(shown)} matching line(s) for /{pattern}/{where} (file:line:text)\n{body}{note}\n"


def list_files(sandbox: RepoSandbox, path: str | None = None, max_results: int = 300) -> str:
    """Tracked files under a directory or matching a glob (git ls-files), capped."""
    max_results = max(1, min(max_results, MAX_LIST_RESULTS))
    pathspec = [_pathspec(path)] if path and path.strip() not in (".", "./", "**") else []
    out = sandbox.git("ls-files", "--full-name", "-z", "--", *pathspec)
    names = [name for name in out.split("\0") if name]
    where = f" under {path}" if pathspec else ""
    if not names:
        return f"no tracked files{where}\n"
    shown = names[:max_results]
    note = (
        f"\n[truncated] {max_results} of {len(names)} files shown"
        if len(names) > max_results
        else ""
    )
    return f"{len(names)} tracked file(s){where}\n" + "\n".join(shown) + note + "\n"


# --- Python structure --------------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    qualname: str
    kind: str  # class | def | async def
    start: int  # first decorator line
    end: int
    signature: str
    depth: int


def _parse(real: Path, rel: str) -> ast.Module:
    if real.stat().st_size > MAX_PARSE_BYTES:
        raise ToolError(f"{rel} is too large to parse ({real.stat().st_size} bytes)")
    source = real.read_bytes()
    try:
        return ast.parse(source, filename=rel)
    except SyntaxError as exc:
        raise ToolError(f"{rel} is not valid Python: {exc.msg} at line {exc.lineno}") from None
    except ValueError as exc:
        raise ToolError(f"{rel} cannot be parsed: {exc}") from None


def _scope(statements: list[ast.stmt]) -> list[ast.stmt]:
    """Statements of one scope, looking through if/try/with blocks (conditional definitions)."""
    out: list[ast.stmt] = []
    for stmt in statements:
        if isinstance(stmt, ast.If | ast.Try | ast.With | ast.AsyncWith):
            out += _scope(stmt.body)
            out += _scope(getattr(stmt, "orelse", []))
            out += _scope(getattr(stmt, "finalbody", []))
            for handler in getattr(stmt, "handlers", []):
                out += _scope(handler.body)
        else:
            out.append(stmt)
    return out


def definitions(tree: ast.AST, prefix: str = "", depth: int = 0) -> list[Definition]:
    found: list[Definition] = []
    for node in _scope(getattr(tree, "body", [])):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            qualname = f"{prefix}{node.name}"
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if isinstance(node, ast.ClassDef):
                bases = ", ".join(ast.unparse(base) for base in node.bases)
                kind, signature = "class", f"({bases})" if bases else ""
            else:
                kind = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
                returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
                signature = f"({ast.unparse(node.args)}){returns}"
            found.append(
                Definition(qualname, kind, start, node.end_lineno or node.lineno, signature, depth)
            )
            found += definitions(node, f"{qualname}.", depth + 1)
    return found


def _module_names(tree: ast.Module) -> list[tuple[str, int]]:
    names: list[tuple[str, int]] = []
    for node in _scope(tree.body):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                names.append((target.id, node.lineno))
    return names


def outline_file(sandbox: RepoSandbox, path: str) -> str:
    real, rel = _open_text_file(sandbox, path)
    if real.suffix not in (".py", ".pyi"):
        raise ToolError(f"{rel} is not a Python file; outline_file reads .py files only")
    tree = _parse(real, rel)
    found = definitions(tree)
    lines = [f"{rel}: {len(found)} definition(s)"]
    names = _module_names(tree)
    if names:
        lines.append("module-level names: " + ", ".join(f"{n} (L{line})" for n, line in names))
    for item in found:
        indent = "  " * item.depth
        name = item.qualname.rsplit(".", 1)[-1]
        lines.append(f"{indent}{item.kind} {name}{item.signature}  L{item.start}-{item.end}")
    return "\n".join(lines) + "\n"


def _module_candidates(sandbox: RepoSandbox, module_parts: list[str]) -> list[str]:
    base = "/".join(module_parts)
    options = [f"{base}.py", f"{base}/__init__.py", f"src/{base}.py", f"src/{base}/__init__.py"]
    return [rel for rel in options if (sandbox.root / rel).is_file()]


def _find(tree: ast.Module, qualname: str) -> Definition | None:
    matches = [d for d in definitions(tree) if d.qualname == qualname]
    # When a name is defined twice, the later definition is the one Python keeps.
    return matches[-1] if matches else None


def get_function(sandbox: RepoSandbox, symbol: str, file: str | None = None) -> str:
    symbol = symbol.strip()
    if not _SYMBOL_RE.match(symbol):
        raise ToolError(f"symbol {symbol!r} is not a dotted name like pkg.module.func")
    parts = symbol.split(".")
    tried: list[str] = []
    # Longest module prefix first: pkg.module.Class.method is Class.method in pkg/module.py.
    splits = [(parts[:i], ".".join(parts[i:])) for i in range(len(parts) - 1, 0, -1)]
    if file:
        real, rel = _open_text_file(sandbox, file)
        tree = _parse(real, rel)
        # The file's own module name decides where the qualname starts; failing that, the most
        # specific qualname first (Class.method before a same-named top-level method), and a
        # bare qualname ("func" or "Class.method") is accepted too.
        module = rel.removesuffix(".py").removesuffix("/__init__").removeprefix("src/")
        module = module.replace("/", ".")
        own = [symbol[len(module) + 1 :]] if symbol.startswith(module + ".") else []
        qualnames = [*own, *(qualname for _module, qualname in reversed(splits)), symbol]
        for qualname in dict.fromkeys(qualnames):
            found = _find(tree, qualname)
            if found:
                return _render_definition(real, rel, symbol, found)
        tried.append(rel)
    else:
        for module_parts, qualname in splits:
            for rel in _module_candidates(sandbox, module_parts):
                real = sandbox.resolve(rel)
                found = _find(_parse(real, rel), qualname)
                if found:
                    return _render_definition(real, rel, symbol, found)
                tried.append(f"{qualname} in {rel}")
    where = "; ".join(tried) if tried else "no module file matches the dotted path"
    raise ToolError(
        f"{symbol} not found ({where}); try outline_file on the module, or pass its file"
    )


def _render_definition(real: Path, rel: str, symbol: str, found: Definition) -> str:
    lines, _total = read_lines(real, rel, found.start, found.end)
    header = f"{symbol}: {found.kind} {found.qualname} in {rel}, lines {found.start}-{found.end}\n"
    return header + number_lines(lines)
