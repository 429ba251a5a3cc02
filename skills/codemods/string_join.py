"""string-join: `s += piece` building a str or bytes in a loop -> a list of pieces joined once.

Each `+=` on an immutable bytes object (or a str with another reference) copies everything built so
far, so the loop is quadratic in the output size; appending to a list and joining once is linear.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from skills.codemods._cst import (
    LOOP_TYPES,
    Parsed,
    code,
    finish,
    function_locals,
    global_declared,
    walk,
    walk_own,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.edits import unique_name


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    func = parsed.find_target(data.qualname).func
    declared = global_declared(func)
    refusals: list[str] = []
    seen: set[str] = set()
    for node in walk_own(func.body):
        name = _accumulated_name(node)
        if name is None or name in seen:
            continue
        seen.add(name)
        if name in declared:
            refusals.append(f"{name} is declared global/nonlocal")
            continue
        try:
            return _rewrite(parsed, data, func, name)
        except _NotText:
            continue
        except CodemodRefused as exc:
            refusals.append(str(exc))
    if refusals:
        raise CodemodRefused("; ".join(refusals))
    raise CodemodRefused(f"{func.name.value} has no `s += piece` on a local inside a loop")


def _accumulated_name(node: cst.CSTNode) -> str | None:
    if (
        isinstance(node, cst.AugAssign)
        and isinstance(node.operator, cst.AddAssign)
        and isinstance(node.target, cst.Name)
    ):
        return node.target.value
    if (
        isinstance(node, cst.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0].target, cst.Name)
        and isinstance(node.value, cst.BinaryOperation)
        and _leftmost_operand(node.value) is not None
        and _leftmost_operand(node.value).value == node.targets[0].target.value
    ):
        return node.targets[0].target.value
    return None


def _leftmost_operand(node: cst.BaseExpression) -> cst.Name | None:
    """s in `s + a + b` (parsed as `(s + a) + b`), when every operator is `+`."""
    while isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        if node.lpar:
            return None
        node = node.left
    return node if isinstance(node, cst.Name) else None


def _without_leftmost(node: cst.BinaryOperation) -> cst.BaseExpression:
    """`a + b` from `s + a + b`: concatenation is associative for str and bytes."""
    if isinstance(node.left, cst.Name):
        return node.right
    return node.with_changes(left=_without_leftmost(node.left))


def _piece(node: cst.CSTNode, name: str) -> cst.BaseExpression | None:
    """The appended expression if node is `name += piece` or `name = name + piece`."""
    if _accumulated_name(node) != name:
        return None
    if isinstance(node, cst.AugAssign):
        return node.value
    return _without_leftmost(node.value)


def _rewrite(parsed: Parsed, data: CodemodInput, func: cst.FunctionDef, name: str) -> CodemodResult:
    appends = [n for n in walk_own(func.body) if _piece(n, name) is not None]
    numeric = [n for n in appends if _is_number(_piece(n, name))]
    if numeric:
        # int + str raises: an accumulator grown by a number is a number, not text.
        raise _NotText(f"{name} is a number (line {parsed.line(numeric[0])})")
    common = _loops_around_every_append(parsed, func, name, appends)
    site = _initialised_loop(parsed, name, common)
    kind = _text_kind(parsed, site, name)
    _refuse_handler_reads(parsed, site.loop, func, name)
    _refuse_other_uses_in_loop(parsed, site.loop, name, appends)
    module, parts, empty = _collect_and_join(parsed, func, site, name, appends, kind)
    lines = [parsed.line(n) for n in appends]
    summary = (
        f"{func.name.value}: {name} was grown with += inside the loop at line "
        f"{parsed.line(site.loop)} ({kind}; each += copies everything built so far, quadratic in "
        f"the output). The pieces now go to the list {parts} (line{'s' if len(lines) > 1 else ''} "
        f"{', '.join(map(str, lines))}) and are joined once after the loop with {empty}.join, "
        f"so {name} has the same value where it is used after the loop."
    )
    if kind == "str":
        summary += (
            " For a plain local str CPython often extends in place, so the gain is largest when "
            f"{name} has other references; the join is linear in every case."
        )
    init_stmt = site.statements[site.init_index]
    return finish(data, module, summary, parsed.line(init_stmt), parsed.end_line(site.loop))


@dataclass
class _Site:
    """The loop that grows the accumulator, the block holding it, and the initial assignment."""

    loop: cst.CSTNode
    block: cst.IndentedBlock
    statements: list
    init_index: int
    loop_index: int


def _loops_around_every_append(
    parsed: Parsed, func: cst.FunctionDef, name: str, appends: list[cst.CSTNode]
) -> list[cst.CSTNode]:
    """The loops (innermost first) that contain every `+=`: the pieces are collected through one."""
    loops_per_append = []
    for node in appends:
        loops = [a for a in parsed.ancestors(node) if isinstance(a, LOOP_TYPES)]
        inside = [a for a in loops if _within(parsed, a, func)]
        if not inside:
            raise CodemodRefused(f"{name} += ... at line {parsed.line(node)} is not inside a loop")
        loops_per_append.append(inside)
    common = [
        loop for loop in loops_per_append[0] if all(loop in loops for loops in loops_per_append)
    ]
    if not common:
        raise CodemodRefused(f"{name} is grown in more than one loop")
    return common


def _initialised_loop(parsed: Parsed, name: str, common: list[cst.CSTNode]) -> _Site:
    """The loop right after the accumulator's initial value.

    With `s = ""` inside an outer loop, the pieces are joined after the inner loop, once per outer
    iteration.
    """
    for candidate in common:
        parent = parsed.parent(candidate)
        if not isinstance(parent, cst.IndentedBlock):
            raise CodemodRefused("the loop is not in a plain block")
        body = list(parent.body)
        position = body.index(candidate)
        for index in range(position - 1, -1, -1):
            if _binds(body[index], name):
                if not _is_plain_assignment(body[index], name):
                    raise CodemodRefused(
                        f"{name} is last bound before the loop by something other than a plain "
                        f"assignment (line {parsed.line(body[index])})"
                    )
                return _Site(candidate, parent, body, index, position)
    raise CodemodRefused(
        f"{name} has no plain `{name} = <str or bytes literal>` before the loop at line "
        f"{parsed.line(common[-1])}"
    )


def _text_kind(parsed: Parsed, site: _Site, name: str) -> str:
    """The text type ("str" or "bytes") of the initial value; nothing may read it earlier."""
    init_value = site.statements[site.init_index].body[0].value
    kind = _exact_kind(init_value)
    if isinstance(init_value, cst.Integer | cst.Float | cst.List | cst.Tuple):
        raise _NotText(f"{name} is not text")
    if kind is None:
        raise CodemodRefused(
            f"{name} starts as {code(init_value)!r}: cannot tell whether it is exactly a str or "
            "bytes (a subclass such as markupsafe.Markup, or another type, may define + its own "
            "way, which a join would not reproduce)"
        )
    for stmt in site.statements[site.init_index + 1 : site.loop_index]:
        if _mentions(stmt, name):
            raise CodemodRefused(
                f"{name} is used between its initial value and the loop (line {parsed.line(stmt)})"
            )
    return kind


def _refuse_other_uses_in_loop(
    parsed: Parsed, loop: cst.CSTNode, name: str, appends: list[cst.CSTNode]
) -> None:
    """Inside the loop, `name` may only be the target of the appends."""
    allowed: set[int] = set()
    for node in appends:
        for inner in walk(node):
            if isinstance(inner, cst.Name) and inner.value == name:
                allowed.add(id(inner))
                break
        if isinstance(node, cst.Assign):
            allowed.add(id(_leftmost_operand(node.value)))
    for piece_node in appends:
        piece = _piece(piece_node, name)
        if any(isinstance(n, cst.Name) and n.value == name for n in walk(piece)):
            raise CodemodRefused(
                f"the piece appended at line {parsed.line(piece_node)} reads {name}"
            )
    for inner in walk(loop):
        if isinstance(inner, cst.Name) and inner.value == name and id(inner) not in allowed:
            raise CodemodRefused(
                f"{name} is read inside the loop at line {parsed.line(inner)}, so the partial "
                "value must exist on every iteration"
            )
        if isinstance(inner, cst.FunctionDef | cst.Lambda) and name in {
            n.value for n in walk(inner) if isinstance(n, cst.Name)
        }:
            raise CodemodRefused(
                f"{name} escapes into a nested function at line {parsed.line(inner)}"
            )
    inside_appends = {id(n) for node in appends for n in walk(node)}
    for inner in walk(loop):
        if id(inner) in inside_appends:
            continue
        if isinstance(
            inner,
            cst.AssignTarget | cst.AugAssign | cst.For | cst.CompFor | cst.AsName | cst.NamedExpr,
        ) and _binds_directly(inner, name):
            raise CodemodRefused(
                f"{name} is reassigned inside the loop at line {parsed.line(inner)}"
            )


def _collect_and_join(
    parsed: Parsed,
    func: cst.FunctionDef,
    site: _Site,
    name: str,
    appends: list[cst.CSTNode],
    kind: str,
) -> tuple[cst.Module, str, str]:
    """(the new module, the parts list's name, the empty literal joining it)."""
    taken = function_locals(func) | parsed.all_names()
    parts = unique_name(f"{name}_parts", taken)
    empty = 'b""' if kind == "bytes" else '""'
    init_stmt = site.statements[site.init_index]
    init_value = init_stmt.body[0].value
    start = (
        "[]"
        if _literal_is_empty(init_value)
        else f"[{code(init_value.with_changes(lpar=[], rpar=[]))}]"
    )
    new_init = cst.parse_statement(f"{parts} = {start}\n").with_changes(
        leading_lines=init_stmt.leading_lines
    )
    join = cst.parse_statement(f"{name} = {empty}.join({parts})\n")
    replacements = {node: _append_statement(node, parts, name) for node in appends}
    new_loop = site.loop.visit(_ReplaceSmall(replacements))
    new_statements = list(site.statements)
    new_statements[site.init_index] = new_init
    new_statements[site.loop_index] = new_loop
    new_statements.insert(site.loop_index + 1, join)
    new_block = site.block.with_changes(body=new_statements)
    return parsed.module.deep_replace(site.block, new_block), parts, empty


def _within(parsed: Parsed, node: cst.CSTNode, func: cst.FunctionDef) -> bool:
    for ancestor in parsed.ancestors(node):
        if ancestor is func:
            return True
        if isinstance(ancestor, cst.FunctionDef | cst.Lambda | cst.ClassDef):
            return False
    return False


def _binds(stmt: cst.CSTNode, name: str) -> bool:
    for node in walk(stmt):
        if isinstance(
            node, cst.AssignTarget | cst.AnnAssign | cst.AugAssign | cst.For | cst.CompFor
        ):
            target = node.target
            if any(isinstance(n, cst.Name) and n.value == name for n in walk(target)):
                return True
        if isinstance(node, cst.AsName | cst.NamedExpr):
            target = node.name if isinstance(node, cst.AsName) else node.target
            if any(isinstance(n, cst.Name) and n.value == name for n in walk(target)):
                return True
    return False


def _binds_directly(node: cst.CSTNode, name: str) -> bool:
    target = node.name if isinstance(node, cst.AsName) else node.target
    return any(isinstance(n, cst.Name) and n.value == name for n in walk(target))


class _NotText(CodemodRefused):
    """The accumulated value is a number or a list, not text: another codemod's business."""


def _is_plain_assignment(stmt: cst.CSTNode, name: str) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
        and isinstance(stmt.body[0].targets[0].target, cst.Name)
        and stmt.body[0].targets[0].target.value == name
    )


def _literal_kind(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        return "bytes" if "b" in node.prefix.lower() else "str"
    if isinstance(node, cst.ConcatenatedString):
        left, right = _literal_kind(node.left), _literal_kind(node.right)
        return left if left == right else None
    if isinstance(node, cst.FormattedString):
        return "str"
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and not node.args:
        return {"str": "str", "bytes": "bytes"}.get(node.func.value)
    return None


# Calls whose result is a number: the piece of an accumulator that holds a count or an offset.
NUMBER_FUNCTIONS = frozenset({"len", "int", "float", "abs", "round", "ord", "sum", "min", "max"})
NUMBER_METHODS = frozenset({"start", "end", "count", "find", "rfind", "index", "bit_length"})
# Calls whose result is exactly a str (never a subclass): str(x), "".join(...), "...".format().
EXACT_STR_METHODS = frozenset({"join", "format", "lower", "upper", "strip", "replace"})


def _is_number(node: cst.BaseExpression | None) -> bool:
    if isinstance(node, cst.Integer | cst.Float | cst.Imaginary):
        return True
    if isinstance(node, cst.UnaryOperation):
        return _is_number(node.expression)
    if isinstance(node, cst.BinaryOperation):
        return _is_number(node.left) or _is_number(node.right)
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Name):
            return node.func.value in NUMBER_FUNCTIONS
        if isinstance(node.func, cst.Attribute):
            return node.func.attr.value in NUMBER_METHODS
    return False


def _exact_kind(node: cst.BaseExpression) -> str | None:
    """ "str" or "bytes" when the value is exactly that type (a literal, an f-string, str(x),
    a join or format on a literal), else None: a subclass or another type may define `+`."""
    kind = _literal_kind(node)
    if kind is not None or not isinstance(node, cst.Call | cst.BinaryOperation):
        return kind
    if isinstance(node, cst.BinaryOperation):
        left = _literal_kind(node.left)
        return left if isinstance(node.operator, cst.Modulo) else None
    func = node.func
    if isinstance(func, cst.Name) and func.value in ("str", "bytes"):
        return func.value if func.value == "bytes" or len(node.args) <= 1 else "str"
    if isinstance(func, cst.Attribute):
        receiver = _literal_kind(func.value)
        if func.attr.value == "encode" and receiver == "str":
            return "bytes"
        if receiver is not None and func.attr.value in EXACT_STR_METHODS:
            return receiver
    return None


def _literal_is_empty(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value in ("", b"")
    # str() / bytes(); any other call (str(x), "".join(xs)) makes the list's first piece
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and not node.args


def _mentions(stmt: cst.CSTNode, name: str) -> bool:
    return any(isinstance(n, cst.Name) and n.value == name for n in walk(stmt))


def _refuse_handler_reads(parsed: Parsed, loop: cst.CSTNode, func, name: str) -> None:
    """A handler or finally around the loop would see the initial value instead of the pieces."""
    if isinstance(loop, LOOP_TYPES) and loop.orelse is not None and _mentions(loop.orelse, name):
        raise CodemodRefused(f"the loop's else clause reads {name}")
    for ancestor in parsed.ancestors(loop):
        if ancestor is func:
            break
        if isinstance(ancestor, cst.Try):
            handlers = list(ancestor.handlers)
            extra = [ancestor.finalbody] if ancestor.finalbody else []
            if any(_mentions(h, name) for h in handlers + extra):
                raise CodemodRefused(f"an except/finally around the loop reads {name}")


def _append_statement(node: cst.CSTNode, parts: str, name: str) -> cst.CSTNode:
    piece = _piece(node, name)
    call = cst.Call(
        func=cst.Attribute(value=cst.Name(parts), attr=cst.Name("append")),
        args=[
            cst.Arg(
                value=piece.with_changes(lpar=[], rpar=[]) if _redundant_parens(piece) else piece
            )
        ],
    )
    return cst.Expr(value=call, semicolon=node.semicolon)


def _redundant_parens(node: cst.BaseExpression) -> bool:
    return bool(node.lpar) and "\n" not in code(node)


class _ReplaceSmall(cst.CSTTransformer):
    def __init__(self, replacements: dict) -> None:
        self.replacements = replacements

    def leave_AugAssign(self, original_node, updated_node):
        return self.replacements.get(original_node, updated_node)

    def leave_Assign(self, original_node, updated_node):
        return self.replacements.get(original_node, updated_node)
