"""Writing code with LibCST for the codemods: fresh names, module-level statements placed after
the imports and constants they need, imports added where isort would put them."""

from __future__ import annotations

import keyword
import re

import libcst as cst

from skills.codemods._cst import BUILTIN_NAMES, IMPORT_TYPES, Parsed, code, is_string_literal
from skills.codemods.base import CodemodRefused


def unique_name(base: str, taken: set[str]) -> str:
    lead = "_" if base.startswith("_") else ""
    base = lead + (re.sub(r"\W+", "_", base).strip("_") or "value")
    if base[0].isdigit():
        base = "_" + base
    candidate = base
    number = 2
    while candidate in taken or keyword.iskeyword(candidate) or candidate in BUILTIN_NAMES:
        candidate = f"{base}_{number}"
        number += 1
    return candidate


def indent_of(parsed: Parsed, node: cst.CSTNode) -> int:
    return parsed.column(node)


# -- edits -------------------------------------------------------------------------------


def insert_module_statements(
    module: cst.Module, index: int, statements: list[cst.BaseStatement]
) -> cst.Module:
    """Insert statements before module.body[index], separated by the blank lines PEP 8 wants."""
    body = list(module.body)
    following = body[index] if index < len(body) else None
    new: list[cst.BaseStatement] = []
    for i, stmt in enumerate(statements):
        if i == 0:
            blank = 2 if index > 0 else 0
            if following is not None and isinstance(following, cst.SimpleStatementLine):
                blank = min(blank, _blank_lines(following))
            stmt = stmt.with_changes(leading_lines=[cst.EmptyLine()] * blank)
        else:
            stmt = stmt.with_changes(leading_lines=[])
        new.append(stmt)
    if (
        following is not None
        and isinstance(following, cst.FunctionDef | cst.ClassDef)
        and _blank_lines(following) < 2
    ):
        comments = [ln for ln in following.leading_lines if ln.comment is not None]
        body[index] = following.with_changes(leading_lines=[cst.EmptyLine()] * 2 + comments)
    body[index:index] = new
    return module.with_changes(body=body)


def _blank_lines(stmt: cst.CSTNode) -> int:
    count = 0
    for line in getattr(stmt, "leading_lines", ()):
        if line.comment is not None:
            break
        count += 1
    return count


def import_insert_index(module: cst.Module) -> int:
    """Index after the last module-level import at the top of the file (after the docstring)."""
    index = 0
    for i, stmt in enumerate(module.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            small = stmt.body[0] if stmt.body else None
            if isinstance(small, IMPORT_TYPES):
                index = i + 1
                continue
            if i == 0 and isinstance(small, cst.Expr) and is_string_literal(small.value):
                index = 1
                continue
        break
    return index


def add_import(module: cst.Module, statement: str) -> cst.Module:
    """Add `import x` among the top-of-file imports where isort would put it."""
    new = cst.parse_statement(statement + "\n")
    new_name = statement.split()[1]
    body = list(module.body)
    end = import_insert_index(module)
    imports = [
        i
        for i in range(end)
        if isinstance(body[i], cst.SimpleStatementLine)
        and isinstance(body[i].body[0], IMPORT_TYPES)
    ]
    for i in imports:
        small = body[i].body[0]
        if (
            isinstance(small, cst.ImportFrom)
            and code(small.module or cst.Name("_")) == "__future__"
        ):
            continue
        later = isinstance(small, cst.ImportFrom) or (
            code(small.names[0].name).lower() > new_name.lower()
        )
        if later:
            # Take over the statement's place (and its blank lines); it follows directly.
            new = new.with_changes(leading_lines=body[i].leading_lines)
            body[i] = body[i].with_changes(leading_lines=[])
            body.insert(i, new)
            return module.with_changes(body=body)
    if imports:
        body.insert(imports[-1] + 1, new.with_changes(leading_lines=[]))
        return module.with_changes(body=body)
    # No imports yet: after the docstring, separated by a blank line.
    index = end
    new = new.with_changes(leading_lines=[cst.EmptyLine()] if index > 0 else [])
    body.insert(index, new)
    if index < len(body) - 1:
        following = body[index + 1]
        wanted = 2 if isinstance(following, cst.FunctionDef | cst.ClassDef) else 1
        missing = wanted - _blank_lines(following)
        if missing > 0:
            body[index + 1] = following.with_changes(
                leading_lines=[cst.EmptyLine()] * missing + list(following.leading_lines)
            )
    return module.with_changes(body=body)


def ensure_module_alias(
    parsed: Parsed, module: cst.Module, module_name: str
) -> tuple[cst.Module, str]:
    """The local name for `module_name`, adding `import module_name` if the file lacks it."""
    alias = parsed.module_import(module_name)
    if alias is not None:
        return module, alias
    if module_name in parsed.top_level_bindings():
        raise CodemodRefused(
            f"the module binds the name {module_name!r} to something else; "
            f"cannot import {module_name}"
        )
    return add_import(module, f"import {module_name}"), module_name
