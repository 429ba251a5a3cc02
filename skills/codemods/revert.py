"""revert-hunk: undo the root-cause commit's change inside the regressed function only.

The defense fallback when no specific skill applies: the function's definition from the parent of
the root-cause commit replaces the current one. It is only safe when nobody edited the function
after the root cause (HEAD's version equals the root-cause commit's), and when everything the old
version refers to still exists in the module (an `import x` the same commit removed is re-added).
"""

from __future__ import annotations

import libcst as cst

from skills.codemods._cst import (
    BUILTIN_NAMES,
    Parsed,
    bound_names,
    code,
    finish,
    function_locals,
    walk,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.edits import add_import


def apply(data: CodemodInput) -> CodemodResult:
    if data.root_cause_after is None:
        raise CodemodRefused("revert-hunk needs the root-cause commit (a regression finding)")
    if data.root_cause_before is None:
        raise CodemodRefused(f"{data.path} did not exist before the root-cause commit")
    head = Parsed(data.source, data.path)
    before = Parsed(data.root_cause_before, data.path)
    after = Parsed(data.root_cause_after, data.path)
    target = head.find_target(data.qualname)
    try:
        old = before.find_target(data.qualname).func
    except CodemodRefused:
        raise CodemodRefused(
            f"{data.qualname} did not exist before the root-cause commit: nothing to revert to"
        ) from None
    try:
        at_root_cause = after.find_target(data.qualname).func
    except CodemodRefused:
        raise CodemodRefused(f"{data.qualname} is not in the root-cause commit's version") from None
    if _text(at_root_cause) != _text(target.func):
        raise CodemodRefused(
            f"{data.qualname} was edited after the root-cause commit; reverting would also undo "
            "those later changes"
        )
    if _text(old) == _text(target.func):
        raise CodemodRefused(f"the root-cause commit did not change {data.qualname}")

    module = head.module
    head_names = set(head.top_level_bindings())
    before_bindings = before.top_level_bindings()
    local = function_locals(old)
    class_names = _class_attribute_names(target)
    missing: list[str] = []
    imports_to_add: list[str] = []
    for node in walk(old):
        if not isinstance(node, cst.Name) or not before.is_load(node):
            continue
        name = node.value
        if name in local or name in head_names or name in BUILTIN_NAMES or name in class_names:
            continue
        if _is_attribute_or_keyword(before, node):
            continue
        scope = before.scope(node)
        if scope is not None and any(
            a.scope is not before.scope(before.module) for a in scope[name]
        ):
            continue  # bound in an enclosing function scope of the old file (nested functions)
        statement = _import_binding(before_bindings.get(name, []))
        if statement is not None and statement not in imports_to_add:
            imports_to_add.append(statement)
        elif statement is None:
            missing.append(name)
    if missing:
        raise CodemodRefused(
            f"the old {data.qualname} uses {', '.join(sorted(set(missing)))}, which no longer "
            "exist in the module"
        )
    replacement = old.with_changes(leading_lines=target.func.leading_lines)
    module = module.deep_replace(target.func, replacement)
    for statement in imports_to_add:
        module = add_import(module, statement)
    first = (
        head.line(target.func.decorators[0]) if target.func.decorators else head.line(target.func)
    )
    last = head.end_line(target.func)
    summary = (
        f"{data.qualname} (lines {first}-{last}) is restored to its version before the root-cause "
        f"commit ({len(code(old).splitlines())} lines replace {last - first + 1}); nothing else in "
        "the file changes. The function was not edited after the root cause, so this undoes "
        "exactly the change that made it slower."
    )
    if imports_to_add:
        summary += " Re-added: " + "; ".join(imports_to_add) + "."
    return finish(data, module, summary, first, last)


def _text(func: cst.FunctionDef) -> str:
    """The function's code without the blank lines and comments above it."""
    return code(func.with_changes(leading_lines=[])).strip()


def _class_attribute_names(target) -> set[str]:
    if target.cls is None:
        return set()
    return {name for stmt in target.cls.body.body for name in bound_names(stmt)}


def _is_attribute_or_keyword(parsed: Parsed, node: cst.Name) -> bool:
    parent = parsed.parent(node)
    if isinstance(parent, cst.Attribute) and parent.attr is node:
        return True
    return isinstance(parent, cst.Arg) and parent.keyword is node


def _import_binding(statements: list[cst.CSTNode]) -> str | None:
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            small = statement.body[0]
            if isinstance(small, cst.Import | cst.ImportFrom):
                return code(small).strip()
    return None
