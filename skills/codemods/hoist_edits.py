"""hoist-loop-invariant, writing the change: the hoisted value's name, where its assignment goes,
and the transformer that puts it there and swaps the calls for the name."""

from __future__ import annotations

import libcst as cst

from skills.codemods._cst import LOOP_TYPES, Parsed, code
from skills.codemods.base import CodemodRefused
from skills.codemods.purity import STR_METHODS


class Plan:
    def __init__(self, call, loop, name, kind):
        self.call = call
        self.loop = loop
        self.name = name
        self.kind = kind  # "safe" | "guarded"


def inserts(
    parsed: Parsed, func: cst.FunctionDef, plans: list[Plan]
) -> dict[cst.CSTNode, list[tuple[cst.CSTNode, cst.BaseStatement]]]:
    """block -> (anchor statement, the assignment to put before it), once per value and loop."""
    pending: dict[cst.CSTNode, list[tuple[cst.CSTNode, cst.BaseStatement]]] = {}
    done: set[tuple[str, int]] = set()
    for plan in plans:
        key = (code(plan.call), id(plan.loop))
        if key in done:
            continue
        done.add(key)
        anchor = anchor_statement(parsed, plan.loop, func)
        block = parsed.parent(anchor)
        expression = code(plan.call.with_changes(lpar=[], rpar=[]))
        if plan.kind == "guarded":
            argument = code([a for a in plan.call.args if a.keyword is None][0].value)
            text = f"{plan.name} = {expression} if {argument} else None"
        else:
            text = f"{plan.name} = {expression}"
        pending.setdefault(block, []).append((anchor, cst.parse_statement(text + "\n")))
    return pending


def unique(plans: list[Plan]) -> list[Plan]:
    seen: set[str] = set()
    out = []
    for plan in plans:
        if plan.name not in seen:
            seen.add(plan.name)
            out.append(plan)
    return out


def anchor_statement(parsed: Parsed, loop: cst.CSTNode, func) -> cst.CSTNode:
    """The statement, directly in a block of the function, before which the value is computed."""
    if isinstance(loop, LOOP_TYPES) and isinstance(parsed.parent(loop), cst.IndentedBlock):
        return loop
    current = loop
    for ancestor in parsed.ancestors(loop):
        if isinstance(ancestor, cst.IndentedBlock) and isinstance(current, cst.BaseStatement):
            return current
        current = ancestor
    raise CodemodRefused("could not find a statement to compute the value before")


def name_for(call: cst.Call) -> str:
    if isinstance(call.func, cst.Attribute) and call.func.attr.value in STR_METHODS:
        verb = call.func.attr.value
        subject = short(call.func.value)
        if verb == "join":
            subject = short(call.args[0].value) if call.args else subject
            return f"joined_{subject}"
        return f"{subject}_{verb}"
    if isinstance(call.func, cst.Attribute):  # statistics.median(xs) -> median_xs
        verb = call.func.attr.value
    else:
        verb = call.func.value if isinstance(call.func, cst.Name) else "value"
    args = [a for a in call.args if a.keyword is None]
    subject = short(args[0].value) if args else "value"
    return f"{verb}_{subject}"


def short(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value.strip("_")
    if isinstance(node, cst.Call):
        return name_for(node)
    return "value"


class Apply(cst.CSTTransformer):
    def __init__(self, swaps: dict, inserts: dict) -> None:
        self.swaps = swaps
        self.inserts = inserts

    def leave_Call(self, original_node, updated_node):
        return self.swaps.get(original_node, updated_node)

    def leave_IndentedBlock(self, original_node, updated_node):
        pending = self.inserts.get(original_node)
        if not pending:
            return updated_node
        body = list(updated_node.body)
        originals = list(original_node.body)
        for anchor, statement in pending:
            index = originals.index(anchor)
            # The new statement takes the blank lines above the anchor; comments stay with it.
            lines = list(body[index].leading_lines)
            blank = 0
            while blank < len(lines) and lines[blank].comment is None:
                blank += 1
            statement = statement.with_changes(leading_lines=lines[:blank])
            body[index] = body[index].with_changes(leading_lines=lines[blank:])
            body.insert(index, statement)
            originals.insert(index, statement)
        return updated_node.with_changes(body=body)
