"""A Python module's outline: its defs and classes with their line spans (the function a hunk
sits in) and the statement starts where lexing may begin."""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    start: int
    end: int
    label: str


def python_outline(text: str) -> tuple[list[Scope], list[int]] | None:
    """A module's defs and classes with their line spans, and its lexer restart points; None
    if it does not parse.

    A restart point is the first line of a statement (or of its decorators) with only
    indentation before it: Pygments' Python lexer is back in its root state there, so lexing
    may start at it and colour every later line exactly as lexing the whole file would.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = text.split("\n")
    scopes: list[Scope] = []
    restarts = {1}
    # Walk statement lists only (definitions and statement starts live there), not every
    # expression node: several times cheaper than ast.walk on a large module.
    pending: list[tuple[list[ast.stmt], str]] = [(tree.body, "")]
    while pending:
        body, prefix = pending.pop()
        for node in body:
            decorators = getattr(node, "decorator_list", None) or []
            first = min([node.lineno, *(d.lineno for d in decorators)])
            # col_offset counts UTF-8 bytes; a whitespace-only prefix has as many characters.
            col = node.col_offset
            if col == 0 or (
                lines[node.lineno - 1][:col].isspace() and lines[first - 1][:col].isspace()
            ):
                restarts.add(first)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                qualname = f"{prefix}{node.name}"
                keyword = "class" if isinstance(node, ast.ClassDef) else "def"
                end = node.end_lineno or node.lineno
                scopes.append(Scope(first, end, f"{keyword} {qualname}"))
                pending.append((node.body, qualname + "."))
                continue
            for field_name in ("body", "orelse", "finalbody"):
                child = getattr(node, field_name, None)
                if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
                    pending.append((child, prefix))
            for item in getattr(node, "handlers", None) or getattr(node, "cases", None) or []:
                pending.append((item.body, prefix))
    return scopes, sorted(restarts)


def enclosing_scope(scopes: list[Scope], line_no: int) -> str:
    best = ""
    best_size = None
    for scope in scopes:
        if scope.start <= line_no <= scope.end:
            size = scope.end - scope.start
            if best_size is None or size <= best_size:
                best, best_size = scope.label, size
    return best


# --- rendering --------------------------------------------------------------------------------
